"""FQL, as Segment's Filter Query Language reference describes it: grammar, operators,
functions, null rules and errors."""

from __future__ import annotations

import fnmatch
import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from headrace.pipeline.filters import FqlSyntaxError, compile_fql
from headrace.pipeline.filters.fql import MAX_FQL_DEPTH

EVENT: dict[str, Any] = {
    "type": "track",
    "event": "Button Clicked",
    "userId": "u-1",
    "messageId": "m-1",
    "context": {
        "library": {"name": "analytics.js", "version": "1.0"},
        "page.url": "https://example.com/a",
        "ip": "10.0.0.1",
    },
    "properties": {
        "features": ["discounts", "dark-mode"],
        "price": 19.5,
        "quantity": 2,
        "sku": "2",
        "enabled": True,
        "disabled": False,
        "nothing": None,
        "product 1": {"price": "19.99"},
        "first-name": "Ada",
        "2nd": "second",
        "ratio": 1.0,
        "dims": {"w": 1, "h": 2},
        "title": "Hello World",
    },
}


def matches(fql: str, event: dict[str, Any] | None = None) -> bool:
    return compile_fql(fql)(EVENT if event is None else event)


def syntax_error(fql: str) -> FqlSyntaxError:
    with pytest.raises(FqlSyntaxError) as caught:
        compile_fql(fql)
    return caught.value


# --- Segment's reference examples ---------------------------------------------------------


@pytest.mark.parametrize(
    ("fql", "expected"),
    [
        ("event = 'Button Clicked'", True),
        ("event = 'Screen Tapped'", False),
        ("context.path.path = '/login'", False),
        ("type = 'identify' or type = 'track'", True),
        ("event = 'Button Clicked' and type = 'track'", True),
        ("match( context.library.version, '1.*' )", True),
        ("match( context.library.version, '2.*' )", False),
        ("type = 'track' and ( event = 'Click' or match( event, 'Button *' ) )", True),
        ("!contains( context.library.name, 'js' )", False),
        ("'dark-mode' in properties.features", True),
        ("'blink' in properties.features", False),
        ("!( type in ['track', 'identify'] )", False),
    ],
)
def test_segment_reference_examples_evaluate_as_documented(fql: str, expected: bool) -> None:
    assert matches(fql) is expected


# --- literals -----------------------------------------------------------------------------


def test_single_quoted_string_is_a_string_literal() -> None:
    assert matches("type = 'track'")


def test_double_quoted_string_is_a_string_literal() -> None:
    assert matches('type = "track"')


def test_backslash_quote_escapes_a_quote_in_a_string() -> None:
    assert matches(r"properties.q = 'it\'s'", {"properties": {"q": "it's"}})


def test_double_backslash_is_one_backslash_in_a_string() -> None:
    assert matches(r"properties.q = 'a\\b'", {"properties": {"q": "a\\b"}})


def test_other_backslash_sequences_stay_as_written_in_a_string() -> None:
    assert matches(r"properties.q = 'a\*b'", {"properties": {"q": "a\\*b"}})


def test_integer_literal_equals_an_integer_field() -> None:
    assert matches("properties.quantity = 2")


def test_float_literal_equals_a_float_field() -> None:
    assert matches("properties.price = 19.5")


def test_negative_number_literal() -> None:
    assert matches("properties.t = -3", {"properties": {"t": -3}})
    assert matches("properties.t < -2.5", {"properties": {"t": -3}})


def test_exponent_number_literal() -> None:
    assert matches("properties.t = 1.5e3", {"properties": {"t": 1500}})


def test_true_false_and_null_literals() -> None:
    assert matches("properties.enabled = true")
    assert matches("properties.disabled = false")
    assert matches("properties.nothing = null")


def test_list_literal_holds_mixed_values() -> None:
    assert matches(
        "properties.l = [1, 'a', true, null]", {"properties": {"l": [1, "a", True, None]}}
    )


def test_empty_list_literal() -> None:
    assert matches("properties.l = []", {"properties": {"l": []}})


def test_whitespace_and_newlines_between_tokens_are_ignored() -> None:
    assert matches("  type='track'\n\tand\n  event = 'Button Clicked'  ")


# --- paths --------------------------------------------------------------------------------


def test_dot_path_reads_a_nested_field() -> None:
    assert matches("context.library.name = 'analytics.js'")


def test_escaped_dot_is_part_of_the_key() -> None:
    assert matches(r"context.page\.url = 'https://example.com/a'")


def test_escaped_space_is_part_of_the_key() -> None:
    assert matches(r"properties.product\ 1.price = '19.99'")


def test_keys_may_contain_dashes_and_start_with_digits_after_a_dot() -> None:
    assert matches("properties.first-name = 'Ada' and properties.2nd = 'second'")


def test_a_missing_field_is_null() -> None:
    assert matches("properties.missing = null")
    assert matches("nope.deeper.still = null")


def test_a_path_through_a_non_object_is_null() -> None:
    assert matches("event.length = null")
    assert matches("properties.features.0 = null")


def test_a_bare_path_matches_only_when_it_is_true() -> None:
    assert matches("properties.enabled")
    assert not matches("properties.disabled")
    assert not matches("properties.sku")
    assert not matches("properties.missing")


def test_names_that_start_with_a_keyword_are_paths() -> None:
    event = {"android": 1, "order": 2, "nullable": 3, "truthy": 4, "index": 5}
    assert matches("android = 1 and order = 2 and nullable = 3 and truthy = 4 and index = 5", event)


def test_an_escaped_keyword_is_a_path() -> None:
    assert matches(r"\and = 1", {"and": 1})


# --- precedence ---------------------------------------------------------------------------


def test_and_binds_tighter_than_or() -> None:
    assert matches("true or false and false")
    assert not matches("false and false or false")


def test_parentheses_group_before_and() -> None:
    assert not matches("(true or false) and false")


def test_not_applies_to_the_whole_comparison() -> None:
    assert matches("!event = 'Other'")
    assert not matches("!event = 'Button Clicked'")


def test_not_binds_tighter_than_and_and_or() -> None:
    assert not matches("!true and true")
    assert matches("!false or false")
    assert not matches("!(false or true)")


def test_double_negation_is_identity() -> None:
    assert matches("!!properties.enabled")


def test_a_comparison_can_compare_a_parenthesised_condition() -> None:
    assert matches("(type = 'track') = true")


def test_and_or_chain_without_parentheses() -> None:
    assert matches("false or false or type = 'track' and event = 'Button Clicked' and true")


# --- equality -----------------------------------------------------------------------------


def test_equality_is_type_strict_between_string_and_number() -> None:
    assert not matches("'1' = 1")
    assert not matches("properties.sku = 2")
    assert not matches("properties.quantity = '2'")


def test_a_boolean_is_not_a_number() -> None:
    assert not matches("true = 1")
    assert not matches("properties.enabled = 1")
    assert not matches("properties.f = true", {"properties": {"f": 1}})


def test_an_integer_equals_the_same_float() -> None:
    assert matches("properties.ratio = 1")
    assert matches("properties.quantity = 2.0")


def test_not_equal_is_true_for_different_types() -> None:
    assert matches("properties.sku != 2")
    assert matches("properties.missing != false")


def test_null_equals_only_null() -> None:
    assert matches("null = null")
    assert not matches("properties.disabled = null")
    assert not matches("properties.sku = null")


def test_lists_are_equal_element_by_element_and_type_strict() -> None:
    assert matches("properties.features = ['discounts', 'dark-mode']")
    assert not matches("properties.features = ['dark-mode', 'discounts']")
    assert not matches("[1] = ['1']")
    assert not matches("[true] = [1]")


def test_objects_are_equal_when_their_contents_are() -> None:
    event = {"a": {"x": 1, "y": [1, 2]}, "b": {"y": [1, 2], "x": 1.0}, "c": {"x": True}}
    assert matches("a = b", event)
    assert not matches("a = c", event)


def test_two_fields_compare_with_each_other() -> None:
    assert matches("userId = anonymousId", {"userId": "x", "anonymousId": "x"})
    assert not matches("userId = anonymousId", {"userId": "1", "anonymousId": 1})


# --- ordering comparisons -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("fql", "expected"),
    [
        ("properties.price > 19", True),
        ("properties.price > 19.5", False),
        ("properties.price >= 19.5", True),
        ("properties.price < 20", True),
        ("properties.price < 19.5", False),
        ("properties.price <= 19.5", True),
        ("10 < properties.price", True),
        ("properties.quantity < properties.price", True),
    ],
)
def test_ordering_compares_numbers(fql: str, expected: bool) -> None:
    assert matches(fql) is expected


@pytest.mark.parametrize(
    "fql",
    [
        "properties.sku > 1",
        "properties.sku < 'z'",
        "'b' > 'a'",
        "properties.missing < 1",
        "properties.missing >= 0",
        "properties.enabled > 0",
        "properties.features > 0",
        "1 > null",
    ],
)
def test_ordering_anything_but_two_numbers_is_false(fql: str) -> None:
    assert not matches(fql)


# --- in -----------------------------------------------------------------------------------


def test_in_finds_a_value_in_a_literal_list() -> None:
    assert matches("event in ['Order Completed', 'Button Clicked']")
    assert not matches("event in ['Order Completed', 'Signed Up']")


def test_in_finds_a_value_in_a_list_field() -> None:
    assert matches("'discounts' in properties.features")


def test_in_is_type_strict() -> None:
    assert not matches("properties.sku in [2]")
    assert not matches("properties.enabled in [1]")
    assert matches("properties.quantity in [2.0]")


def test_in_finds_null_and_booleans() -> None:
    assert matches("properties.missing in ['a', null]")
    assert matches("properties.enabled in [false, true]")


def test_in_a_value_that_is_not_a_list_is_false() -> None:
    assert not matches("'a' in properties.sku")
    assert not matches("'a' in properties.missing")
    assert not matches("'a' in 'abc'")


def test_in_a_list_of_fields() -> None:
    assert matches("'u-1' in [messageId, userId]")


# --- "all" --------------------------------------------------------------------------------


def test_all_matches_every_event() -> None:
    assert matches("all")
    assert matches(" all ", {})


# --- functions ----------------------------------------------------------------------------


def test_contains_finds_a_substring() -> None:
    assert matches("contains(event, 'ton Cl')")
    assert not matches("contains(event, 'button')")


def test_contains_on_null_or_non_strings_is_false() -> None:
    assert not matches("contains(properties.missing, 'a')")
    assert not matches("contains(properties.features, 'discounts')")
    assert not matches("contains(event, properties.missing)")


def test_length_of_a_string_counts_utf8_bytes() -> None:
    assert matches("length(properties.s) = 1", {"properties": {"s": "a"}})
    assert matches("length(properties.s) = 3", {"properties": {"s": "ア"}})


def test_length_of_a_list_and_of_an_object() -> None:
    assert matches("length(properties.features) = 2")
    assert matches("length(properties.dims) = 2")


def test_length_of_null_is_zero() -> None:
    assert matches("length(properties.missing) = 0")
    assert not matches("length(properties.missing) > 0")


def test_length_of_a_number_is_null() -> None:
    assert matches("length(properties.quantity) = null")


def test_lowercase_and_uppercase() -> None:
    assert matches("lowercase(event) = 'button clicked'")
    assert matches("uppercase(event) = 'BUTTON CLICKED'")


def test_lowercase_of_null_or_a_number_is_null() -> None:
    assert matches("lowercase(properties.missing) = null")
    assert matches("uppercase(properties.quantity) = null")


@pytest.mark.parametrize(
    ("text", "snake"),
    [
        ("sample text", "sample_text"),
        ("sample-text", "sample_text"),
        ("sample___text", "sample_text"),
        ("sampleText", "sample_text"),
        ("inviteYourCustomersAddInvites", "invite_your_customers_add_invites"),
        ("   $#$sample   2    Text   ", "sample_2_text"),
        ("SAMPLE 2 TEXT", "sample_2_text"),
        ("___$$Base64Encode", "base64_encode"),
        ("FOO:BAR$BAZ", "foo_bar_baz"),
        ("something.com", "something_com"),
        ("Order Completed", "order_completed"),
    ],
)
def test_snakecase_splits_words_like_segment(text: str, snake: str) -> None:
    assert matches(f"snakecase(properties.t) = '{snake}'", {"properties": {"t": text}})


def test_kebabcase_joins_the_same_words_with_dashes() -> None:
    assert matches("kebabcase(event) = 'button-clicked'")
    assert matches("kebabcase('orderCompleted v2') = 'order-completed-v2'")


def test_titlecase_capitalises_each_word() -> None:
    assert matches("titlecase('test string') = 'Test String'")
    assert matches("titlecase('iPhone case') = 'IPhone Case'")


def test_case_functions_of_null_are_null() -> None:
    assert matches("snakecase(x) = null and kebabcase(x) = null and titlecase(x) = null", {})


@pytest.mark.parametrize(
    ("value", "name"),
    [
        ("'a'", "string"),
        ("1", "number"),
        ("1.5", "number"),
        ("true", "bool"),
        ("null", "null"),
        ("properties.missing", "null"),
        ("properties.features", "list"),
        ("properties.dims", "object"),
    ],
)
def test_typeof_names_the_type(value: str, name: str) -> None:
    assert matches(f"typeof({value}) = '{name}'")


@pytest.mark.parametrize(
    ("text", "pattern", "expected"),
    [
        ("abcd", "a*d", True),
        ("", "*", True),
        ("abc", "ab", False),
        ("abcd", "a??d", True),
        ("abcd", "*d", True),
        ("ab*d", r"ab\*d", True),
        ("abxd", r"ab\*d", False),
        ("abCd", "ab[cC]d", True),
        ("abcd", "ab[a-z]d", True),
        ("abcd", "ab[A-Z]d", False),
        ("a?", r"a\?", True),
        ("ab", r"a\?", False),
        ("a[b]", r"a\[b]", True),
        ("abc", "ab[^c]", False),
        ("abd", "ab[^c]d", False),
        ("abxd", "ab[^c]d", True),
        ("ab!d", "ab[!c]d", True),
        ("abxd", "ab[!c]d", False),
        ("a-b", r"a[\-]b", True),
        ("a/b/c", "a*c", True),
        ("ABCD", "abcd", False),
        ("aアb", "a?b", True),
        ("line\nbreak", "line*", True),
        ("a.b", "a.b", True),
        ("axb", "a.b", False),
    ],
)
def test_match_globs_like_segment(text: str, pattern: str, expected: bool) -> None:
    event = {"properties": {"t": text, "p": pattern}}
    quoted = pattern.replace("\\", "\\\\").replace("'", "\\'")
    assert matches(f"match(properties.t, '{quoted}')", event) is expected
    assert matches("match(properties.t, properties.p)", event) is expected


def test_match_on_null_or_a_non_string_is_false() -> None:
    assert not matches("match(properties.missing, '*')")
    assert not matches("match(properties.quantity, '*')")
    assert not matches("match(event, properties.missing)")


def test_match_with_a_malformed_pattern_from_the_event_is_false() -> None:
    event = {"t": "a[", "p": "a["}
    assert not matches("match(t, p)", event)


def test_match_applies_to_a_function_result() -> None:
    assert matches("match(lowercase(event), 'button *')")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("'true'", True),
        ("'1'", True),
        ("'false'", False),
        ("'yes'", False),
        ("''", False),
        ("1", True),
        ("0", False),
        ("-0.5", True),
        ("null", False),
        ("[]", False),
        ("[0]", True),
        ("true", True),
    ],
)
def test_bool_converts_a_value(value: str, expected: bool) -> None:
    assert matches(f"bool({value})") is expected


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("'a'", "a"),
        ("1", "1"),
        ("1.5", "1.5"),
        ("2.0", "2"),
        ("true", "true"),
        ("null", ""),
        ("[1, 'a']", '[1,"a"]'),
    ],
)
def test_string_converts_a_value(value: str, text: str) -> None:
    assert matches(f"string({value}) = '{text}'")


@pytest.mark.parametrize(
    ("value", "number"),
    [
        ("'42'", "42"),
        ("' 42 '", "42"),
        ("'-1.5'", "-1.5"),
        ("'1e3'", "1000"),
        ("7", "7"),
        ("'abc'", "null"),
        ("'nan'", "null"),
        ("'inf'", "null"),
        ("true", "null"),
        ("null", "null"),
    ],
)
def test_number_converts_a_value(value: str, number: str) -> None:
    assert matches(f"number({value}) = {number}")


def test_number_makes_a_numeric_string_comparable() -> None:
    assert matches("number(properties.sku) > 1")


def test_function_results_compose() -> None:
    assert matches("length(lowercase(userId)) > 0")
    assert not matches("length(lowercase(anonymousId)) > 0")


def test_a_function_result_is_a_condition_only_when_true() -> None:
    assert matches("contains(event, 'Button')")
    assert not matches("lowercase(event)")


# --- errors -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fql", "position", "fragment"),
    [
        ("event = 'Button' )", 17, "unexpected ')'"),
        ("event = ", 8, "unexpected end of expression; expected a value"),
        ("event = 'Button", 8, "unterminated string"),
        ("event == 'A'", 7, "unexpected '='"),
        ("(event = 'A'", 12, "expected ')'"),
        ("event = 'A' type = 'track'", 12, "expected 'and', 'or' or end of expression"),
        ("a = b = c", 6, "unexpected '='"),
        ("event in ['A' 'B']", 14, "expected ',' or ']'"),
        ("event # 'A'", 6, "unexpected character '#'"),
        ("a and", 5, "expected a value"),
        ("userId = oops'", 13, "unterminated string"),
        ("", 0, "empty expression"),
        ("x = 1e999", 4, "out of range"),
    ],
)
def test_invalid_fql_reports_what_and_where(fql: str, position: int, fragment: str) -> None:
    error = syntax_error(fql)
    assert error.position == position
    assert fragment in str(error)
    assert f"at position {position}" in str(error)


def test_an_unknown_function_is_rejected_at_compile_time() -> None:
    error = syntax_error("type = 'track' and lower(event) = 'x'")
    assert error.position == 19
    assert "unknown function 'lower'" in str(error)


def test_a_wrong_argument_count_is_rejected_at_compile_time() -> None:
    error = syntax_error("type = 'track' or contains(event)")
    assert error.position == 18
    assert "contains() takes 2 arguments, got 1" in str(error)


def test_a_malformed_literal_match_pattern_is_rejected_at_compile_time() -> None:
    error = syntax_error("match(event, 'ab[')")
    assert error.position == 16
    assert "invalid match() pattern: unterminated character class" in str(error)


def test_a_match_pattern_error_points_into_the_literal_past_its_escapes() -> None:
    assert syntax_error(r"match(event, 'it\'s\\ [')").position == 22


@pytest.mark.parametrize("pattern", ["ab[]", "a[-z]", "a[z", "a\\\\", "[^]"])
def test_malformed_glob_patterns_are_rejected(pattern: str) -> None:
    assert "invalid match() pattern" in str(syntax_error(f"match(event, '{pattern}')"))


def test_an_error_on_a_later_line_has_line_and_column() -> None:
    error = syntax_error("type = 'track'\nand event = )")
    assert (error.position, error.line, error.column) == (27, 2, 13)
    assert "(line 2, column 13)" in str(error)


def test_nesting_deeper_than_the_limit_is_rejected() -> None:
    assert matches("!" * MAX_FQL_DEPTH + "true")
    assert "nests more than" in str(syntax_error("!" * (MAX_FQL_DEPTH + 1) + "true"))


# --- properties ---------------------------------------------------------------------------

_TEXT = st.text(st.characters(codec="utf-8"), max_size=30)


def _quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


@given(_TEXT)
def test_any_string_round_trips_through_a_quoted_literal(text: str) -> None:
    assert matches(f"x = {_quote(text)}", {"x": text})
    assert not matches(f"x = {_quote(text)}", {"x": text + "!"})


@given(
    st.integers(min_value=-(10**18), max_value=10**18)
    | st.floats(allow_nan=False, allow_infinity=False)
)
def test_any_number_round_trips_through_a_literal(number: float) -> None:
    assert matches(f"x = {number!r}", {"x": number})


@given(st.text(st.characters(codec="utf-8", exclude_characters="\n"), min_size=1, max_size=20))
def test_any_key_can_be_reached_by_escaping_it(key: str) -> None:
    escaped = re.sub(r"([^A-Za-z0-9_\-])", r"\\\1", key)
    assert matches(f"properties.{escaped} = 1", {"properties": {key: 1}})


@given(st.text("ab*?", max_size=6), st.text("ab", max_size=6))
def test_match_agrees_with_fnmatch_on_star_and_question_mark(pattern: str, text: str) -> None:
    assert matches(f"match(t, '{pattern}')", {"t": text}) is fnmatch.fnmatchcase(text, pattern)


@given(_TEXT)
def test_a_fully_escaped_pattern_matches_only_its_text(text: str) -> None:
    pattern = "".join("\\" + c for c in text)
    assert matches("match(t, p)", {"t": text, "p": pattern})
    assert not matches("match(t, p)", {"t": text + "x", "p": pattern})
