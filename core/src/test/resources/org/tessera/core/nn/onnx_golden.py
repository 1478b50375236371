"""Golden data for OnnxGoldenTest: models exported by tools/export-onnx and PyTorch's features.

    /usr/bin/python3 onnx_golden.py EXPORTER IHC_PNG OUT_DIR

Exports, with the project's exporter, torchvision's vit_b_16 (seeded random init) and
resnet50-trunc (random weights with non-trivial batch norms, through a safetensors state_dict as
a user's conversion would be), rebuilds the same networks in PyTorch and writes
OUT_DIR/golden.safetensors:
  input        crops of the IHC image, resized 256 -> 224 and ImageNet-normalised [N,3,224,224]
  vit          vit_b_16's class token for input [N,768]
  resnet       resnet50-trunc's features for input [N,1024]
  pixels       224x224 crops as 0..255 values [N,224,224,3]
  vit_pixels   vit_b_16's class token for pixels through torchvision's own transforms [N,768]
"""
import importlib.machinery
import importlib.util
import os
import sys

import numpy as np
import torch
import torchvision.transforms.functional as TF
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_to_safetensors import save_file  # noqa: E402

exporter_path, png, out = sys.argv[1], sys.argv[2], sys.argv[3]
loader = importlib.machinery.SourceFileLoader("export_onnx", exporter_path)
spec = importlib.util.spec_from_loader("export_onnx", loader)
exporter = importlib.util.module_from_spec(spec)
loader.exec_module(exporter)
torch.set_num_threads(2)

image = np.asarray(Image.open(png).convert("RGB"))
corners = [(0, 0), (256, 0), (0, 256), (128, 128)]
resized = [Image.fromarray(image[y:y + 256, x:x + 256]).resize((224, 224), Image.BILINEAR)
           for x, y in corners]
x = torch.from_numpy(np.stack([np.asarray(t) for t in resized])).permute(0, 3, 1, 2).float() / 255
mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
x = ((x - mean) / std).contiguous()
pixels = np.stack([image[y:y + 224, x0:x0 + 224] for x0, y in [(20, 10), (280, 40), (60, 280)]])

# vit_b_16: the exporter builds it after torch.manual_seed(11); build() does the same here.
vit_onnx = os.path.join(out, "vit_b_16.onnx")
exporter.main(["--model", "vit_b_16", "--random-init", "11", "--out", vit_onnx])
args = exporter.argparse.Namespace(model="vit_b_16", random_init=11, weights=None,
                                   input_size=None, timm_kwargs=None)
vit = exporter.build(args)[0].eval()
own = torch.stack([TF.normalize(TF.to_tensor(Image.fromarray(p)), [0.485, 0.456, 0.406],
                                [0.229, 0.224, 0.225]) for p in pixels])
with torch.no_grad():
    vit_features = vit(x)[:, 0].contiguous()
    vit_pixels = vit(own)[:, 0].contiguous()

# resnet50-trunc from a state_dict with non-trivial batch norms (as torch_golden.py makes them).
torch.manual_seed(1234)
import torchvision  # noqa: E402
net = torchvision.models.resnet50(weights=None)
with torch.no_grad():
    for name, m in net.named_modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            residual = name.endswith("bn3") or name.endswith("downsample.1")
            m.weight.uniform_(0.1, 0.3) if residual else m.weight.uniform_(0.5, 1.5)
            m.bias.normal_(0.0, 0.2)
            m.running_mean.normal_(0.0, 0.2)
            m.running_var.uniform_(0.5, 2.0)
            m.num_batches_tracked.fill_(1000)
net.eval()
weights = os.path.join(out, "resnet50.safetensors")
save_file(net.state_dict(), weights)
exporter.main(["--model", "resnet50-trunc", "--weights", weights,
               "--out", os.path.join(out, "resnet50-trunc.onnx")])
trunk = exporter.ResNetTrunk.build(net).eval()
with torch.no_grad():
    resnet = trunk(x).contiguous()

save_file({"input": x, "vit": vit_features, "resnet": resnet,
           "pixels": torch.from_numpy(pixels.astype(np.float32)), "vit_pixels": vit_pixels},
          os.path.join(out, "golden.safetensors"))
print("vit", tuple(vit_features.shape), "norm %.3f" % vit_features.norm(dim=1).mean(),
      "resnet", tuple(resnet.shape), "norm %.3f" % resnet.norm(dim=1).mean())
