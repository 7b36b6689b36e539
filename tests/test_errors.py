import pytest

import speechlab
from speechlab import errors


@pytest.mark.parametrize(
    ("cls", "builtins"),
    [
        (errors.AudioError, {ValueError}),
        (errors.ModelNotFoundError, {LookupError}),
        (errors.UnsupportedLanguageError, {ValueError}),
        (errors.ChecksumError, set()),  # a damaged download is no ValueError/OSError
    ],
)
def test_every_error_is_a_speechlab_error(cls, builtins):
    assert issubclass(cls, errors.SpeechlabError)
    # exactly these built-in families besides Exception, so `except ValueError` catches
    # what it should and nothing else
    bases = {c for c in cls.__mro__ if c.__module__ == "builtins"}
    assert bases - {Exception, BaseException, object} == builtins
    with pytest.raises(errors.SpeechlabError, match="what to do"):
        raise cls("what to do")


def test_errors_are_exported_from_the_package():
    for name in errors.__all__:
        assert getattr(speechlab, name) is getattr(errors, name)
