/**
 * Tessera's own binding to the OpenSlide C library, the one reader that understands the scanner
 * formats our cohorts arrive in (Aperio SVS, Hamamatsu, MIRAX, generic tiled TIFF, ...).
 *
 * <p>It exists instead of a third-party Java wrapper so that the pixels our Java tile stage sees
 * are byte-for-byte the pixels python-openslide pipelines see for the same slide (the
 * un-premultiply step is matched to python-openslide 1.2.0 and checked against it in the tests),
 * so that bad files fail with one actionable line instead of a native error state, and so that the
 * per-tile path stays as cheap as OpenSlide itself: direct JNA mapping, one reused native buffer
 * per thread, one copy into the Java array.
 */
package org.tessera.wsi.openslide;
