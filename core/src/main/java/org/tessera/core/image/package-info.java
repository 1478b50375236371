/**
 * Pixel work between a slide tile and a CNN encoder: colour (stain) normalisation and the
 * resize-and-normalise step that fills float NCHW batches. It lives in core, with plain arrays and
 * no Spark or slide code, because the same arithmetic must run on executors, in tests and against
 * Python reference implementations, and every float it writes has to be reproducible.
 */
package org.tessera.core.image;
