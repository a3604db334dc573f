"""Griffe extension: the API reference shows ``@takes_open_options`` functions as they run.

In the source such a function takes ``**options: Unpack[OpenKwargs]``; at run time
:func:`vzcore._open_options.takes_open_options` gives it the keyword-only options of
``OpenOptions`` (with their defaults) and puts their descriptions in place of the
``**options`` entry of its docstring. This does the same to Griffe's static model, with the
same docstring code, so the page, ``help()`` and ``inspect.signature`` agree.
(Configured under ``extensions:`` of the mkdocstrings handler in mkdocs.yml.)
"""

from __future__ import annotations

from typing import Any

import griffe

from vzcore._open_options import OpenOptions, _with_option_docs

_OPTIONS = "vzcore._open_options.OpenOptions"


class OpenOptionsSignatures(griffe.Extension):
    """Expand ``**options`` of functions decorated with ``takes_open_options``."""

    def on_function(self, *, func: griffe.Function, **kwargs: Any) -> None:
        """Replace ``**options`` by the options, in the signature and the docstring."""
        if not any(d.callable_path.endswith("takes_open_options") for d in func.decorators):
            return
        options = func.modules_collection[_OPTIONS]  # its fields' annotations and defaults
        kept = [p for p in func.parameters if p.kind is not griffe.ParameterKind.var_keyword]
        func.parameters = griffe.Parameters(
            *kept,
            *(
                griffe.Parameter(
                    name,
                    annotation=options.members[name].annotation,
                    kind=griffe.ParameterKind.keyword_only,
                    default=options.members[name].value,
                )
                for name in OpenOptions.names()
            ),
        )
        old = func.docstring
        if old is not None:
            func.docstring = griffe.Docstring(
                _with_option_docs(old.value),
                lineno=old.lineno,
                endlineno=old.endlineno,
                parent=func,
                parser=old.parser,
                parser_options=old.parser_options,
            )
