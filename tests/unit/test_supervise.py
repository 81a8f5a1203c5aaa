"""The launcher's restart rule (decision 0004): a growing pause, then giving up on a child that
keeps dying; a child that ran well for a while starts again from the first pause."""

from __future__ import annotations

from deploy.local.supervise import GiveUp, Restart, RestartPolicy, decide, describe_exit

POLICY = RestartPolicy(first_delay=1, max_delay=8, give_up_after=5, window=300)


def test_the_pause_doubles_with_each_crash_in_the_window_up_to_its_ceiling() -> None:
    crashes: list[float] = []
    delays = []
    for now in (10.0, 20.0, 30.0, 40.0):
        decision = decide(POLICY, crashes, now)
        assert isinstance(decision, Restart)
        delays.append((decision.delay, decision.attempt))
        crashes.append(now)
    assert delays == [(1, 1), (2, 2), (4, 3), (8, 4)]
    assert decide(RestartPolicy(first_delay=1, max_delay=3, give_up_after=9), crashes, 50.0) \
        == Restart(delay=3, attempt=5)


def test_a_child_that_keeps_dying_is_given_up() -> None:
    assert decide(POLICY, [1.0, 2.0, 3.0, 4.0], 5.0) == GiveUp(crashes=5, window=300)


def test_crashes_outside_the_window_are_forgotten() -> None:
    assert decide(POLICY, [1.0, 2.0, 3.0, 4.0], 1000.0) == Restart(delay=1, attempt=1)


def test_an_exit_is_described_in_words() -> None:
    assert describe_exit(-9) == "killed by SIGKILL"
    assert describe_exit(1) == "exit status 1"
    assert describe_exit(-200) == "killed by signal 200"
