/**
 * CNN patch encoders: the networks the embed stage runs on every tile, turning a normalised RGB
 * tile into a feature vector for the MIL heads. They live in core, outside Spark, so that an
 * encoder can be built, checked against PyTorch and benchmarked in one JVM; the Spark stage only
 * loads one per executor ({@link org.tessera.core.nn.Encoders#load}) and calls
 * {@link org.tessera.core.nn.PatchEncoder#embed} batch by batch.
 *
 * <h2>Encoders</h2>
 *
 * <ul>
 *   <li>{@code resnet50-trunc}: torchvision's ResNet-50 up to {@code layer3} with global average
 *       pooling, 1024 features at 224 px, the usual histology baseline. Verified against
 *       torchvision 0.14 to about 1e-6 by {@code ResNet50GoldenTest}.
 *   <li>{@code small-cnn}: four conv-BN-ReLU-maxpool blocks, 256 features at 128 px by default;
 *       for demos and tests.
 *   <li>Any DL4J model zip or Keras .h5 model, cut at a named layer; feature maps are
 *       global-average-pooled.
 * </ul>
 *
 * <p>Both architectures need weights or an explicit random initialisation with a seed; the seed or
 * the SHA-256 of the weights file identifies the features in {@link
 * org.tessera.core.nn.EncoderSpec}.
 *
 * <h2>Using PyTorch weights</h2>
 *
 * <p>Architecture layers carry PyTorch {@code state_dict} names ({@code conv1}, {@code bn1},
 * {@code layer1.0.conv1}, {@code layer1.0.downsample.1}, ...), so a torchvision state_dict loads
 * by name; keys of the unused {@code layer4} and {@code fc} are ignored, every other key must match
 * in name and shape. {@code torch.save} files are Python pickles and cannot be read from Java:
 * convert the state_dict to safetensors first, with the {@code safetensors} package
 * ({@code safetensors.torch.save_file(model.state_dict(), "resnet50.safetensors")}) or, needing
 * only torch, with {@code core/src/test/resources/org/tessera/core/nn/torch_to_safetensors.py}:
 *
 * <pre>
 * python3 -c "import torch, torchvision; torch.save(torchvision.models.resnet50(
 *     weights='IMAGENET1K_V1').state_dict(), 'resnet50.pth')"
 * python3 torch_to_safetensors.py resnet50.pth resnet50.safetensors
 * </pre>
 *
 * <p>F32, F16, BF16 and F64 tensors are read (as float). Inputs are float NCHW tiles normalised
 * as the weights were trained (ImageNet mean and std for torchvision weights).
 *
 * <h2>Speed</h2>
 *
 * <p>Graphs are rewritten once for inference ({@code InferenceGraphs}): layers
 * after the cut are dropped, batch norms and activations are folded into the preceding
 * convolutions, and convolutions use {@code FastConvolution}, which avoids the
 * slow im2col of nd4j-native 1.0.0-M2.1 (built without oneDNN). Batches then run in inference mode
 * with workspaces, so memory is reused from batch to batch; the first two or three batches are
 * slower while the workspaces size themselves.
 */
package org.tessera.core.nn;
