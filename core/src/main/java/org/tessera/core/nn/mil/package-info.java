/**
 * Multiple-instance learning heads: the slide-level classifiers trained on feature bags (one bag
 * of tile embeddings per slide, one label per slide). They are SameDiff graphs so that every
 * model, loss included, gets its gradients from autodiff instead of hand-written backward passes,
 * and they expose a flat parameter vector so the training loop, checkpoints and the Spark gradient
 * reduction stay independent of the model.
 *
 * <p>{@link org.tessera.core.nn.mil.MilConfig} fixes a head, {@link
 * org.tessera.core.nn.mil.MilModel} runs it on one bag at a time (training with dropout masks
 * drawn from a seed, or evaluation with attention maps). The graph is built once per model with
 * the bag as placeholders; every model is linear in the number of instances (TransMIL through
 * Nyström attention), so bags of 100,000 tiles fit in a few GB.
 */
package org.tessera.core.nn.mil;
