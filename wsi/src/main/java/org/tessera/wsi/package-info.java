/**
 * Whole-slide images behind one small interface, so the tile and embed stages never care which
 * library or file format sits underneath: {@link org.tessera.wsi.SlideReader} has one abstract read
 * and everything else (composited RGB regions, level-exact tiles) as default methods.
 */
package org.tessera.wsi;
