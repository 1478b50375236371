/**
 * Immutable, level-exact addresses of pixels on a slide, and the grid that cuts a slide into tiles
 * at a target physical resolution. Training code addresses tiles by {@link
 * org.tessera.wsi.region.TileRequest} (integer level and coordinates), never by float downsample
 * arithmetic at read time, so the same tile is read identically on every executor and every run.
 */
package org.tessera.wsi.region;
