"""Convert a PyTorch state_dict to safetensors, the weight format Tessera's Java encoders read.

torch.save files are Python pickles, which Java cannot read; safetensors is a JSON header plus raw
little-endian tensor data. This writer needs only torch (the `safetensors` package's
safetensors.torch.save_file writes the same format).

    python3 torch_to_safetensors.py resnet50.pth resnet50.safetensors

IN may hold a state_dict, a {"state_dict": ...} checkpoint or a whole pickled model. For
torchvision's ImageNet weights, save them first:

    python3 -c "import torch, torchvision; torch.save(torchvision.models.resnet50(
        weights='IMAGENET1K_V1').state_dict(), 'resnet50.pth')"
"""
import json
import struct
import sys

import torch

DTYPES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
          torch.float64: "F64", torch.int64: "I64", torch.int32: "I32", torch.int16: "I16",
          torch.int8: "I8", torch.uint8: "U8", torch.bool: "BOOL"}


def save_file(tensors, path):
    header, chunks, offset = {}, [], 0
    for name, t in tensors.items():
        t = t.detach().cpu().contiguous()
        # numpy has no bfloat16: its bits travel as int16, which has the same byte layout.
        a = (t.view(torch.int16) if t.dtype == torch.bfloat16 else t).numpy()
        data = a.astype(a.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    head = json.dumps(header).encode("utf-8")
    head += b" " * (-len(head) % 8)  # the format pads the header to 8 bytes with spaces
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(head)))
        f.write(head)
        for c in chunks:
            f.write(c)


def main(src, dst):
    obj = torch.load(src, map_location="cpu")
    if isinstance(obj, torch.nn.Module):
        obj = obj.state_dict()
    elif isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):
        obj = obj["state_dict"]
    save_file(obj, dst)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
