"""Golden data for ResNet50GoldenTest: torchvision's resnet50 up to layer3 + average pooling.

    /usr/bin/python3 torch_golden.py IHC_PNG OUT_DIR

Writes OUT_DIR/resnet50.safetensors (the full state_dict, stage 4 and fc included, as a user's
conversion would) and OUT_DIR/golden.safetensors with "input" (N,3,224,224: crops of the real
IHC tissue image, resized and ImageNet-normalised) and "features" (N,1024).
"""
import os
import sys

import numpy as np
import torch
import torchvision
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_to_safetensors import save_file  # noqa: E402

png, out = sys.argv[1], sys.argv[2]
torch.manual_seed(1234)
torch.set_num_threads(2)
model = torchvision.models.resnet50(weights=None)
with torch.no_grad():
    # Fresh batch norms are identities; non-trivial statistics and affine terms test the mapping
    # of all four BN tensors (and catch a swapped mean/var or weight/bias). Small scales on the
    # residual branches keep the features near the size of trained ones (about 1), where a float
    # rounding difference is about 1e-6 rather than growing with the activations.
    for name, m in model.named_modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            residual = name.endswith("bn3") or name.endswith("downsample.1")
            m.weight.uniform_(0.1, 0.3) if residual else m.weight.uniform_(0.5, 1.5)
            m.bias.normal_(0.0, 0.2)
            m.running_mean.normal_(0.0, 0.2)
            m.running_var.uniform_(0.5, 2.0)
            m.num_batches_tracked.fill_(1000)
model.eval()

image = np.asarray(Image.open(png).convert("RGB"))
crops = [(0, 0), (256, 0), (0, 256), (256, 256), (128, 128), (40, 300)]
tiles = [Image.fromarray(image[y:y + 256, x:x + 256]).resize((224, 224), Image.BILINEAR)
         for x, y in crops]
x = torch.from_numpy(np.stack([np.asarray(t) for t in tiles])).permute(0, 3, 1, 2).float() / 255
mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
x = ((x - mean) / std).contiguous()

trunk = torch.nn.Sequential(model.conv1, model.bn1, model.relu, model.maxpool, model.layer1,
                            model.layer2, model.layer3, model.avgpool, torch.nn.Flatten())
with torch.no_grad():
    features = trunk(x)

save_file(model.state_dict(), os.path.join(out, "resnet50.safetensors"))
save_file({"input": x, "features": features}, os.path.join(out, "golden.safetensors"))
print("features", tuple(features.shape), "mean %.4f max %.4f" % (features.mean(), features.max()))
