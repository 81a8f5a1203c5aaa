"""The font a report's PDF embeds: Noto Sans CJK SC (SIL Open Font License 1.1, licence in
``fonts/LICENSE-OFL.txt``), from the PyPI wheel ``noto-cjk-sans-otc`` — never a system font, so
the PDF reads the same on a machine without any Chinese font.

The wheel's collection has CFF (PostScript) outlines, which reportlab cannot embed; reportlab
embeds and subsets TrueType (glyf) fonts. So for each report a small TrueType font is built with
the glyphs of the characters the report can print, each converted to quadratic outlines
(fontTools ``cu2qu``; a glyph is converted once per process). It is deterministic: the same
characters give the same bytes. reportlab then embeds the glyphs the document uses (a subset,
FontFile2)."""

from __future__ import annotations

import io
import threading
from functools import cache, lru_cache
from typing import Any

FACE = "Noto Sans CJK SC"
# what the outline conversion may deviate from the cubic curves, in font units (1000 per em)
MAX_ERROR = 1.0
_NAME_IDS = (0, 1, 2, 3, 4, 5, 6, 13, 14)   # copyright, family, …, PostScript name, licence
_LOCK = threading.Lock()                    # the source font and the glyph cache are shared


@lru_cache(maxsize=8)
def truetype(chars: frozenset[str]) -> bytes:
    """A TrueType font (glyf outlines) of the face with the glyphs of ``chars`` (and .notdef);
    characters the face lacks are left out (they print as .notdef)."""
    from fontTools.fontBuilder import FontBuilder

    with _LOCK:
        source = _source()
        cmap = source.getBestCmap()
        order = source.getGlyphOrder()
        rank = {name: i for i, name in enumerate(order)}
        mapping = {ord(c): cmap[ord(c)] for c in chars if ord(c) in cmap}
        names = sorted({".notdef", *mapping.values()}, key=rank.__getitem__)
        glyphs = {name: _glyph(name) for name in names}
        hmtx = source["hmtx"]
        metrics = {name: hmtx[name] for name in names}
        head, hhea, os2 = source["head"], source["hhea"], source["OS/2"]
        name_table = source["name"]
        names_of = {i: name_table.getDebugName(i) for i in _NAME_IDS}

    builder = FontBuilder(head.unitsPerEm, isTTF=True)
    builder.setupGlyphOrder(names)
    builder.setupCharacterMap(mapping)
    builder.setupGlyf(glyphs)
    builder.setupHorizontalMetrics(metrics)
    builder.setupHorizontalHeader(ascent=hhea.ascent, descent=hhea.descent,
                                  lineGap=hhea.lineGap)
    builder.setupNameTable({
        "copyright": names_of[0], "familyName": names_of[1], "styleName": names_of[2],
        "uniqueFontIdentifier": names_of[3], "fullName": names_of[4], "version": names_of[5],
        "psName": names_of[6], "licenseDescription": names_of[13],
        "licenseInfoURL": names_of[14]})
    builder.setupOS2(
        fsType=os2.fsType, usWeightClass=os2.usWeightClass, usWidthClass=os2.usWidthClass,
        sTypoAscender=os2.sTypoAscender, sTypoDescender=os2.sTypoDescender,
        sTypoLineGap=os2.sTypoLineGap, usWinAscent=os2.usWinAscent,
        usWinDescent=os2.usWinDescent, sxHeight=os2.sxHeight, sCapHeight=os2.sCapHeight,
        achVendID=os2.achVendID, panose=os2.panose, ulCodePageRange1=os2.ulCodePageRange1,
        ulCodePageRange2=os2.ulCodePageRange2)
    builder.setupPost()
    builder.font["head"].fontRevision = head.fontRevision
    builder.font["head"].created = builder.font["head"].modified = head.created  # not "now"
    builder.font.recalcTimestamp = False     # nor when it is saved: the same bytes every time
    out = io.BytesIO()
    builder.save(out)
    return out.getvalue()


@cache
def _glyph(name: str) -> Any:
    """One glyph of the face as a TrueType glyph (its cubic curves made quadratic)."""
    from fontTools.pens.cu2quPen import Cu2QuPen
    from fontTools.pens.ttGlyphPen import TTGlyphPen

    glyphs = _source().getGlyphSet()
    pen = TTGlyphPen(glyphs)
    glyphs[name].draw(Cu2QuPen(pen, MAX_ERROR, reverse_direction=True))
    return pen.glyph()


@cache
def _source() -> Any:
    """The Simplified Chinese face of the wheel's collection, read lazily (a glyph's outline is
    read when first asked for)."""
    from fontTools.ttLib import TTCollection, TTFont
    from noto_cjk_sans_otc import FONT_PATH

    path = str(FONT_PATH)
    for index, face in enumerate(TTCollection(path, lazy=True).fonts):
        if face["name"].getDebugName(4) == FACE:
            return TTFont(path, fontNumber=index, lazy=True)
    raise RuntimeError(f"{FACE} is not in {path}")
