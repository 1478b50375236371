/**
 * The collaborative patch/slide EM loop (Bayesian Collaborative Learning) as a sequence of
 * stages: E-step pseudo-labels from the slide model's attention and the patch classifier, patch
 * cutting, the encoder M-step (a barrier stage with synchronized BatchNorm and gradient
 * all-reduce over {@code spark.sync}), then the existing embed, train and evaluate stages on the
 * new encoder. It exists because end-to-end MIL cannot train the encoder: a slide's patch
 * activations do not fit in memory, while a batch of pseudo-labelled patches does.
 */
package org.tessera.spark.collab;
