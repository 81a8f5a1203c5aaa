"""`make bench`: throughput and memory of a real stack on this machine (not part of the tests)."""
