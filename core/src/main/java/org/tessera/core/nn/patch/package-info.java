/**
 * Trainable patch networks for the BCL M-step: the embed stage's encoders ({@code small-cnn},
 * {@code resnet50-trunc}, same PyTorch parameter names) plus a linear tile classifier, fine-tuned
 * data-parallel on pseudo-labelled tiles with synchronized BatchNorm.
 *
 * <p>Why a separate small module system instead of DL4J layers: DL4J's BatchNormalization cannot
 * normalise with statistics from outside its own mini-batch in training mode, and its backward
 * pass cannot take the global sums synchronized BatchNorm needs, so K workers with batch b would
 * not train like one worker with batch K·b. Here each module ({@link
 * org.tessera.core.nn.patch.Conv2d}, {@link org.tessera.core.nn.patch.BatchNorm2d}, ...) has an
 * explicit forward/backward over ND4J arrays, and {@link org.tessera.core.nn.patch.BatchNorm2d}
 * all-reduces its statistics (forward) and gradient sums (backward) through a {@link
 * org.tessera.core.collective.Collective}. Results are checked against PyTorch (training-mode
 * forward, every gradient, running statistics) and against one worker on the concatenated batch.
 *
 * <p>Weights come from {@link org.tessera.core.nn.StateDicts#initial} (exactly the round-0
 * {@code --random-init} encoder) or a safetensors file, and {@link
 * org.tessera.core.nn.patch.PatchNet#saveEncoder} writes the fine-tuned encoder in the form
 * {@link org.tessera.core.nn.Encoders#load} takes, so the embed stage re-embeds tiles with it.
 *
 * <p>Speed: on the CPU backend without oneDNN, libnd4j's convolution and pooling ops (im2col, the
 * {@code _bp} ops), ND4J's broadcasts and fresh native arrays each cost more than the GEMMs, so
 * convolutions unfold images in Java ({@code org.tessera.core.nn.Im2Col}) for one GEMM per
 * image, batch norm, ReLU and max pooling are Java passes over heap copies of one image at a
 * time, and large activations are recycled between steps ({@link
 * org.tessera.core.nn.patch.Activations}). A small-cnn step on 32 tiles of 128 px takes about
 * 1.2 s on two threads (bench/patch-step), against 16-23 s with the libnd4j ops.
 */
package org.tessera.core.nn.patch;
