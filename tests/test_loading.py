import subprocess
import sys

import pytest

CODE = """
import numpy as np, imagecodecs
from vzcore.manifests import ArrayMetadata
from vzcore.manifests.loading import decode_chunk
meta = ArrayMetadata(shape=(4,), dtype=np.dtype("<i4"), chunk_shape=(4,),
                     codecs=({"id": "imagecodecs_zlib"},))
print(decode_chunk(imagecodecs.zlib_encode(np.arange(4, dtype="<i4").tobytes()), meta).tolist())
"""


def test_imagecodecs_codecs_are_registered_on_demand():
    pytest.importorskip("imagecodecs")
    # A fresh process: nothing has registered imagecodecs' numcodecs codecs yet.
    out = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[0, 1, 2, 3]"
