"""An independent reader of de-identified NumPy files: Debian's NumPy (np.load, allow_pickle off,
its default header size limit) and Python's zipfile. For each path given, prints one JSON line:
the arrays (name, dtype, shape, Fortran order, SHA-256 of the data bytes in file order) and, for
an .npz, what the archive carries besides them (comments, extra fields, times, methods).
"""
import hashlib
import json
import sys
import zipfile

import numpy as np


def describe(array):
    order = "F" if array.flags.f_contiguous and not array.flags.c_contiguous else "C"
    return {
        "dtype": array.dtype.str,
        "shape": list(array.shape),
        "fortran_order": order == "F",
        "sha256": hashlib.sha256(array.tobytes(order=order)).hexdigest(),
    }


def check(path):
    if path.endswith(".npy"):
        return {"arrays": {"": describe(np.load(path, allow_pickle=False))}}
    with zipfile.ZipFile(path) as archive:
        members = [
            {
                "name": info.filename,
                "comment": info.comment.decode("latin1"),
                "extra": info.extra.hex(),
                "date_time": list(info.date_time),
                "compress_type": info.compress_type,
            }
            for info in archive.infolist()
        ]
        comment = archive.comment.decode("latin1")
    with np.load(path, allow_pickle=False) as npz:
        arrays = {name: describe(npz[name]) for name in npz.files}
    return {"arrays": arrays, "comment": comment, "members": members}


for path in sys.argv[1:]:
    print(json.dumps(check(path)))
