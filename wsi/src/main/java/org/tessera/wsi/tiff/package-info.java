/**
 * The direct reader for tiled JPEG TIFF slides (Aperio SVS and generic pyramidal TIFF, classic or
 * BigTIFF): our own TIFF directory parser and libjpeg-turbo through JNA.
 *
 * <p>It exists because most of an OpenSlide 3.4 {@code read_region} of a 256-pixel tile is cairo
 * compositing, not JPEG decoding: reading the stored tile and decoding it ourselves is several
 * times cheaper per core, and an aligned tile's compressed bytes can be had without decoding at
 * all. It reads only what it reproduces byte for byte (checked against OpenSlide in the tests)
 * and hands every other file, and every request it cannot reproduce, to OpenSlide.
 */
package org.tessera.wsi.tiff;
