"""Small ONNX models for OnnxEncoderTest, exported with torch.onnx.export.

    /usr/bin/python3 onnx_models.py OUT_DIR

cnn.onnx          conv + global average pooling [N,8], dynamic batch and size, no config
tokens.onnx       16x16 patches of a 32x32 input plus a class token: tokens [N,5,6]
two_inputs.onnx   two inputs
feature_map.onnx  a [N,4,H,W] output
two_outputs.onnx  outputs "a" [N,8] and "b" [N,4]
gray.onnx         a [N,1,H,W] input
half.onnx         float16 input and output (float32 inside)
reference.safetensors  "x" [2,3,32,32] and each model's output for it ("cnn", "tokens",
                       "two_outputs_b", "half")
"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_to_safetensors import save_file  # noqa: E402

out = sys.argv[1]
torch.manual_seed(5)


class Cnn(torch.nn.Module):
    def __init__(self, cin=3):
        super().__init__()
        self.conv = torch.nn.Conv2d(cin, 8, 3, padding=1)

    def forward(self, x):
        return self.conv(x).relu().mean(dim=(2, 3))


class Tokens(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.patch = torch.nn.Conv2d(3, 6, 16, stride=16)
        self.cls = torch.nn.Parameter(torch.randn(1, 1, 6))

    def forward(self, x):
        t = self.patch(x).flatten(2).transpose(1, 2)
        return torch.cat([self.cls.expand(x.shape[0], -1, -1), t], dim=1)


class TwoInputs(torch.nn.Module):
    def forward(self, x, y):
        return (x + y).mean(dim=(2, 3))


class FeatureMap(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3, padding=1)

    def forward(self, x):
        return self.conv(x)


class TwoOutputs(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.a = Cnn()
        self.b = torch.nn.Conv2d(3, 4, 1)

    def forward(self, x):
        return self.a(x), self.b(x).mean(dim=(2, 3))


class Half(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.net = Cnn()

    def forward(self, x):
        return self.net(x.float()).half()


def export(module, name, args, inputs, outputs, dynamic_hw=True):
    axes = {n: {0: "batch"} for n in inputs + outputs}
    if dynamic_hw:
        for n in inputs:
            axes[n].update({2: "h", 3: "w"})
    torch.onnx.export(module.eval(), args, os.path.join(out, name), input_names=inputs,
                      output_names=outputs, dynamic_axes=axes, opset_version=17)


x = torch.randn(2, 3, 32, 32)
cnn, tokens, two, half = Cnn(), Tokens(), TwoOutputs(), Half()
export(cnn, "cnn.onnx", (x,), ["input"], ["features"])
export(tokens, "tokens.onnx", (x,), ["pixels"], ["tokens"], dynamic_hw=False)
export(TwoInputs(), "two_inputs.onnx", (x, x), ["x", "y"], ["out"])
export(FeatureMap(), "feature_map.onnx", (x,), ["input"], ["map"])
export(two, "two_outputs.onnx", (x,), ["input"], ["a", "b"])
export(Cnn(1), "gray.onnx", (x[:, :1],), ["input"], ["features"])
export(half, "half.onnx", (x.half(),), ["input"], ["features"])
with torch.no_grad():
    save_file({"x": x, "cnn": cnn(x), "tokens": tokens(x), "two_outputs_b": two(x)[1],
               "half": half(x.half()).float()}, os.path.join(out, "reference.safetensors"))
print("onnx_models: wrote", sorted(os.listdir(out)))
