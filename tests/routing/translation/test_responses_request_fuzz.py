"""Any JSON a client can send gets a translation or a TranslationError: never another exception (a 500)."""

from collections.abc import Callable
from typing import Any

from hypothesis import event, given, settings
from hypothesis import strategies as st

from routing.translation.errors import TranslationError
from routing.translation.provider_state import ProviderQuirks
from routing.translation.responses_anthropic_request import responses_to_anthropic_request
from routing.translation.responses_reasoning import encode_reasoning
from routing.translation.responses_request import TranslatedRequest, responses_to_chat_request
from routing.translation.responses_validation import validate_responses_body
from tests.routing.translation.responses_bodies import MULTI_AGENT, THINKING, WEB_SEARCH

SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 5000), st.floats(allow_nan=False), st.text(max_size=8)
)
JUNK = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)


def maybe(value: Any) -> st.SearchStrategy[Any]:
    """Mostly the well-formed value, sometimes junk in its place."""
    return st.one_of(st.just(value), st.just(value), st.just(value), JUNK)


PART = st.one_of(
    st.fixed_dictionaries({"type": maybe("input_text"), "text": maybe("hi")}),
    st.fixed_dictionaries({"type": maybe("output_text"), "text": maybe("yo")}),
    st.fixed_dictionaries({"type": st.just("input_image"), "image_url": maybe("data:image/png;base64,iVBO")}),
    st.fixed_dictionaries(
        {
            "type": st.just("input_image"),
            "image_url": st.sampled_from(["https://x.invalid/a.png", "ftp://x", "data:bad"]),
        }
    ),
    st.fixed_dictionaries(
        {
            "type": st.just("input_file"),
            "file_data": st.sampled_from(
                [
                    "data:application/pdf;base64,JVBE",
                    "data:text/plain;base64,aGk=",
                    "data:image/gif;base64,R0",
                ]
            ),
        }
    ),
    st.fixed_dictionaries({"type": st.just("refusal"), "refusal": maybe("no")}),
    JUNK,
)
CONTENT = st.one_of(st.text(max_size=5), st.lists(PART, max_size=3), JUNK)
STATES = st.sampled_from(
    [
        {"anthropic": THINKING},
        {"reasoning_content": "r"},
        {"reasoning_details": [{"type": "reasoning.text", "text": "t"}]},
        {"anthropic": "x"},
    ]
)
ITEM = st.one_of(
    st.fixed_dictionaries(
        {
            "type": maybe("message"),
            "role": st.sampled_from(["user", "assistant", "system", "developer", "tool"]),
            "content": CONTENT,
        }
    ),
    st.fixed_dictionaries({"role": st.sampled_from(["user", "assistant"]), "content": CONTENT}),
    st.fixed_dictionaries(
        {
            "type": st.just("function_call"),
            "call_id": maybe("c1"),
            "name": maybe("exec_command"),
            "arguments": st.sampled_from(["{}", '{"cmd":"ls"}', "{bad", ""]),
            "namespace": st.sampled_from([None, "multi_agent_v1"]),
        }
    ),
    st.fixed_dictionaries(
        {
            "type": st.just("function_call_output"),
            "call_id": maybe("c1"),
            "output": st.one_of(st.text(max_size=5), st.lists(PART, max_size=2)),
        }
    ),
    st.fixed_dictionaries(
        {
            "type": st.just("reasoning"),
            "summary": st.just([]),
            "encrypted_content": st.one_of(STATES.map(encode_reasoning), st.text(max_size=5), st.none()),
        }
    ),
    st.fixed_dictionaries(
        {
            "type": st.sampled_from(["custom_tool_call"]),
            "call_id": st.just("c2"),
            "name": st.just("apply_patch"),
            "input": maybe("*** patch"),
        }
    ),
    st.fixed_dictionaries(
        {
            "type": st.sampled_from(["web_search_call", "item_reference", "compaction", "telepathy"]),
            "id": maybe("x"),
        }
    ),
    JUNK,
)
TOOL = st.one_of(
    st.just({"type": "function", "name": "exec_command", "parameters": {"type": "object"}}),
    st.just(MULTI_AGENT),
    st.just(WEB_SEARCH),
    st.fixed_dictionaries(
        {"type": maybe("function"), "name": maybe("f"), "parameters": maybe({}), "strict": maybe(False)}
    ),
    st.fixed_dictionaries(
        {"type": st.just("namespace"), "name": maybe("ns"), "tools": st.lists(JUNK, max_size=2)}
    ),
    JUNK,
)
BODY = st.fixed_dictionaries(
    {"model": maybe("m"), "input": st.one_of(st.lists(ITEM, max_size=5), st.text(max_size=5), JUNK)},
    optional={
        "instructions": maybe("sys"),
        "tools": st.one_of(st.lists(TOOL, max_size=4), JUNK),
        "tool_choice": st.one_of(
            st.sampled_from(
                [
                    "auto",
                    "none",
                    "required",
                    {"type": "function", "name": "wait", "namespace": "multi_agent_v1"},
                    {"type": "web_search"},
                    {"type": "allowed_tools", "mode": "auto", "tools": []},
                ]
            ),
            JUNK,
        ),
        "parallel_tool_calls": maybe(False),
        "max_output_tokens": st.one_of(st.integers(-2, 40000), JUNK),
        "reasoning": st.one_of(
            st.fixed_dictionaries(
                {
                    "effort": st.sampled_from(
                        ["none", "minimal", "low", "medium", "high", "xhigh", "max", None]
                    )
                }
            ),
            JUNK,
        ),
        "text": st.one_of(
            st.just({"format": {"type": "json_schema", "name": "n", "schema": {"type": "object"}}}),
            st.just({"format": {"type": "json_object"}}),
            JUNK,
        ),
        "stream": maybe(True),
        "temperature": maybe(0.5),
        "user": maybe("u"),
        "previous_response_id": st.one_of(st.none(), st.just("resp_1")),
        "store": maybe(False),
        "include": maybe(["reasoning.encrypted_content"]),
    },
)


def outcome(translate: Callable[[], TranslatedRequest]) -> str:
    """ "ok" or the field a TranslationError named; any other exception fails the test."""
    try:
        translated = translate()
    except TranslationError as error:
        return error.field
    assert translated.body["model"] == "u"
    return "ok"


def validated(body: dict[str, Any]) -> TranslatedRequest:
    validate_responses_body(body)
    return TranslatedRequest(body={"model": "u"})


@settings(max_examples=400, deadline=None)
@given(body=BODY, refuse=st.booleans())
def test_only_translation_errors_escape(body: dict[str, Any], refuse: bool) -> None:
    validation = outcome(lambda: validated(body))
    quirks = ProviderQuirks(thought_signatures=True, reasoning_on_tool_turns=True, reasoning_details=True)
    chat = outcome(
        lambda: responses_to_chat_request(body, upstream_model="u", quirks=quirks, refuse_hosted_tools=refuse)
    )
    anthropic = outcome(
        lambda: responses_to_anthropic_request(
            body, upstream_model="u", default_max_tokens=1024, refuse_hosted_tools=refuse
        )
    )
    event(f"chat {'translated' if chat == 'ok' else 'refused'}")
    event(f"anthropic {'translated' if anthropic == 'ok' else 'refused'}")
    if validation != "ok":  # the translators validate first, so they name the same field
        assert chat == anthropic == validation
