import pytest

import speechlab
from speechlab import errors


@pytest.mark.parametrize(
    ("cls", "builtin"),
    [
        (errors.AudioError, ValueError),
        (errors.ModelNotFoundError, LookupError),
        (errors.UnsupportedLanguageError, ValueError),
        (errors.ChecksumError, Exception),
    ],
)
def test_every_error_is_a_speechlab_error(cls, builtin):
    assert issubclass(cls, errors.SpeechlabError)
    assert issubclass(cls, builtin)
    with pytest.raises(errors.SpeechlabError, match="what to do"):
        raise cls("what to do")


def test_errors_are_exported_from_the_package():
    for name in errors.__all__:
        assert getattr(speechlab, name) is getattr(errors, name)
