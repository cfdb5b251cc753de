"""grading/rules/allowlists.py: which rule a call broke, and how the message says it."""
from grading.rules import allowlists
from grading.rules.recorder import ENGINE, RECORDER_STOPPED

BASIC, BASIC_TEXT = allowlists.ALLOWLISTS["basic"]


def test_allowed_ops_break_no_rule_and_in_place_ops_count_as_their_op():
    assert allowlists.violation(BASIC, ["mul", "add_", "where", "gt"], {"mul": 1}) is None
    assert allowlists.without_inplace("add_") == "add" and allowlists.without_inplace("__add__") == "__add__"


def test_a_library_activation_is_an_op_not_allowed_and_its_message_names_it():
    assert allowlists.violation(BASIC, ["mul", "relu"], {}) == ("op", ["relu"])
    text = allowlists.message("op", "MyReLU.forward", ["relu"], BASIC_TEXT)
    assert "torch.relu" in text and "别的激活函数的库函数也算库函数" in text


def test_autograd_in_a_derivative_comes_first():
    assert allowlists.violation(BASIC, ["relu", ENGINE], {"backward": 1}, derivative=True) == (
        "autograd", ["autograd::engine", "backward"])
    assert allowlists.violation(BASIC, ["mul"], {"backward": 1}) is None  # outside a derivative, autograd is fine


def test_leaving_torch_counts_per_element_numbers_above_the_limit():
    few = {"item": allowlists.PER_ELEMENT_LIMIT}
    many = {"item": allowlists.PER_ELEMENT_LIMIT + 1}
    assert allowlists.violation(BASIC, ["mul"], few, in_torch=True) is None
    assert allowlists.violation(BASIC, ["mul"], many, in_torch=True) == ("leaves_torch", ["item"])
    assert allowlists.violation(BASIC, [], {"numpy": 1}, in_torch=True) == ("leaves_torch", ["numpy"])
    assert ".numpy()" in allowlists.message("leaves_torch", "dropout_layer", ["numpy"], "")


def test_a_stopped_recorder_is_named_as_such():
    assert "被关掉了" in allowlists.message("op", "l2_penalty", [RECORDER_STOPPED], BASIC_TEXT)


def test_every_mistake_kind_has_an_id():
    assert set(allowlists.MISTAKES) == {"op", "leaves_torch", "autograd"}
