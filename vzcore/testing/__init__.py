"""Conformance suites that reader and writer plugins subclass (third parties too).

Example, in a plugin's tests::

    from vzcore.testing import ReaderTests

    class TestMyReader(ReaderTests):
        reader_name = "myformat"
        corrupt_length = 100  # the damaged file: the sample's first 100 bytes

        @pytest.fixture
        def sample(self, tmp_path):
            path = write_my_file(tmp_path / "a.myf")
            return path, {"data": reference_library_read(path)}

The suites need pytest; importing this module is only for tests.
"""

from vzcore.testing._reader_tests import ReaderTests
from vzcore.testing._writer_tests import WriterTests

__all__ = ["ReaderTests", "WriterTests"]
