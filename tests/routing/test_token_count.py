"""The local token estimate for count_tokens on OpenAI-format providers."""

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from routing.token_count import TOKENS_PER_IMAGE, count_request_tokens, count_text_tokens


def test_known_o200k_counts() -> None:
    assert count_text_tokens("hello world") == 2
    assert count_text_tokens("") == 0


def test_system_and_tools_add_tokens() -> None:
    base: dict[str, Any] = {"messages": [{"role": "user", "content": "What is the weather in Paris?"}]}
    with_system = {**base, "system": [{"type": "text", "text": "You are a meteorologist."}]}
    tool = {
        "name": "get_weather",
        "description": "Weather now",
        "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
    }
    with_tools = {**with_system, "tools": [tool]}
    assert count_request_tokens(base) < count_request_tokens(with_system) < count_request_tokens(with_tools)


def test_it_uses_a_tokenizer_not_characters_over_four() -> None:
    prose = "The quick brown fox jumps over the lazy dog. " * 40
    cjk = "東京は日本の首都であり、世界最大級の都市圏を形成している。" * 20
    prose_count = count_request_tokens({"messages": [{"role": "user", "content": prose}]})
    assert abs(prose_count - (count_text_tokens(prose) + 6)) <= 1
    cjk_count = count_text_tokens(cjk)
    assert abs(cjk_count - len(cjk) / 4) / (len(cjk) / 4) > 0.3  # chars/4 is far off for CJK


def test_blocks_of_every_kind_are_counted() -> None:
    body = {
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "look"},
                    {
                        "type": "image",
                        "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"},
                    },
                ],
            },
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "t", "name": "Bash", "input": {"command": "ls -la"}}],
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "t",
                        "content": [{"type": "text", "text": "a.txt b.txt"}],
                    }
                ],
            },
        ]
    }
    assert count_request_tokens(body) > TOKENS_PER_IMAGE + count_text_tokens("ls -la")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["system", "messages", "tools", "model"]), json_values, max_size=4))
def test_odd_bodies_never_raise(body: dict[str, Any]) -> None:
    assert count_request_tokens(body) >= 0
