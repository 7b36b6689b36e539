from speechlab.textnorm import plain


def test_plain_keeps_polish_letters_and_apostrophes():
    assert plain("Zażółć  GĘŚLĄ jaźń, don't!") == "zażółć gęślą jaźń don't"
    assert plain("Dzień dobry.—Tak?") == "dzień dobry tak"
    assert plain(" …! ") == ""
