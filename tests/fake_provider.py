#!/usr/bin/env python3
"""A scripted fake LLM provider for ami's tests: the real providers' wire formats and
failures, byte for byte, on 127.0.0.1 (see /work/shared/PROTOCOLS.md for the real ones).

Python 3 standard library only (plus the `openssl` command for --tls).

COMMAND LINE
    python3 tests/fake_provider.py --port 0 --log FILE [--tls [--tls-cert PEM]]

    --port N       listen on 127.0.0.1:N (0: a free port).  Never another address.
    --log FILE     append one JSON line per request, and per client disconnect (below).
    --tls          serve HTTPS with a self-signed certificate for 127.0.0.1 made at start-up
                   by `openssl req` in a temporary directory (deleted at once): clients that
                   verify certificates fail with CERTIFICATE_VERIFY_FAILED.  ALPN: http/1.1.
    --tls-cert PEM also write that certificate there, for a client that wants to trust it.
    --log-first-byte  also log, for each streamed response, when its first body byte was
                   written (for the benchmarks' time to first token; see REQUEST LOG).
    --activity FILE  a JSON list of rows (the shape of GET /activity's "data") served by
                   GET /openrouter/v1/activity beside its own (see ROUTES), as they are.

    Once listening it prints "PORT <n>\\n" on stdout (flushed), then nothing else on stdout
    and almost nothing on stderr (at most 20 one-line reports of internal errors).  SIGTERM
    or SIGINT: exit 0 at once, even with connections open (never in the middle of a log
    line).  One thread per connection (ThreadingHTTPServer), HTTP/1.1 persistent
    connections, request bodies read by Content-Length (or chunked), `Expect:
    100-continue` answered; hundreds of concurrent streams.

REQUEST LOG (--log)
    Each request, before its response starts:
        {"t": <unix time>, "method", "path" (with the query string),
         "headers": {lower-case name: value (repeated headers joined by ", ")},
         "body": <parsed JSON> | <raw text (invalid UTF-8 replaced)> | null (no body)}
    When the client closes the connection before the response is finished:
        {"t", "event": "disconnect", "path", "model" (the requested model string or null),
         "sent_bytes" (bytes written for this response so far: status line, headers,
         chunk framing and payload)}
    A closed connection is noticed within a millisecond or so even while the scenario is
    silent (waits poll the socket for EOF) and at the next write otherwise.  A connection
    dropped by the server itself (`drop`) is not a disconnect.
    With --log-first-byte, after the first socket write of a streamed response's body:
        {"t", "event": "first_byte", "path", "model",
         "monotonic_ns" (CLOCK_MONOTONIC just before that write: comparable with
         Python's time.monotonic_ns() and libuv's uv_hrtime() on the same machine)}

ROUTES  (base URL http://127.0.0.1:<port>/<flavour>/v1)
    flavours: openrouter openai mistral scaleway ollama llamacpp vllm anthropic
    POST /<flavour>/v1/chat/completions   every flavour but anthropic
    POST /anthropic/v1/messages
    GET  /<flavour>/v1/models             OpenRouter: {"data":[{"id","canonical_slug","name",
         "created","description","context_length","architecture","pricing":{"prompt",
         "completion","request","image","web_search","internal_reasoning"} (USD per token,
         as strings),"top_provider","per_request_limits","supported_parameters"}]};
         Anthropic {"data":[{"type":"model","id","display_name","created_at"}],
         "has_more":false,"first_id","last_id"}; the others OpenAI's {"object":"list",
         "data":[{"id","object":"model","created","owned_by"}]}.  Models: fake/hello,
         fake/echo, fake/priced (0.000003 / 0.000015), fake/free ("0" / "0"),
         fake/small-context (context_length 2000), fake/demo, fake/essay,
         anthropic/claude-sonnet-4 (0.000003 / 0.000015), openai/gpt-4o (0.0000025 /
         0.00001), mistralai/mistral-medium-3 (0.0000004 / 0.000002).
    GET  /openrouter/v1/key (also /auth/key)  {"data":{"label":"sk-or-v1-abc...xyz",
         "limit":10,"limit_remaining":7.5,"usage":2.5,"usage_daily":0.1,"usage_weekly":0.6,
         "usage_monthly":2.5,"is_free_tier":false}}
    GET  /openrouter/v1/generation?id=gen-…  {"data":{"id","total_cost","model","streamed",
         "cancelled","latency","generation_time","finish_reason","native_finish_reason",
         "tokens_prompt","tokens_completion","native_tokens_*","usage","is_byok",…}} for an
         OpenRouter answer of this server (recorded when it ended, or when the client went
         away: then "cancelled":true, finish_reason null, the tokens sent so far);
         unknown id -> 404 {"error":{"code":404,"message":"Generation not found"}}; no id
         -> 400.
    GET  /openrouter/v1/activity[?date=YYYY-MM-DD]  OpenRouter's activity, for a management
         key only: a key beginning "mgmt-" (any other key -> 403 {"error":{"code":403,
         "message":"Only management keys can fetch activity","metadata":null},"user_id":
         null}; none -> the usual 401).  {"data":[{"date","model","model_permaslug",
         "endpoint_id","provider_name","usage","byok_usage_inference","requests",
         "prompt_tokens","completion_tokens","reasoning_tokens"}]}: daily totals per model
         endpoint for the last 30 completed UTC days (yesterday and the 29 before it), newest
         day first.  Three sources of rows: deterministic everyday use of three models
         (anthropic/claude-sonnet-4 as anthropic/claude-4-sonnet-20250522, openai/gpt-4o as
         openai/gpt-4o-2024-08-06, mistralai/mistral-medium-3; fewer requests on weekends,
         some days none; the numbers depend on the date only, costs at the models' prices
         above); this server's own OpenRouter answers of those days (by the UTC day they
         started; model = the requested id without "?…", model_permaslug = the answered one,
         provider_name "Fake"; so today's answers are not there yet, as on OpenRouter); and
         --activity FILE's rows.  date= keeps that day only; a malformed date, or one outside
         the 30 days -> 400 {"error":{"code":400,"message":"Invalid date format or date
         range","metadata":null},"user_id":null}.
    Anything else -> 404 with the flavour's JSON error body (OpenAI: "Invalid URL (GET
    /v1/…)"); an unknown flavour gets OpenRouter's.

AUTHENTICATION  (checked on every route, except OpenRouter's public GET /models)
    openrouter, openai, mistral, scaleway, vllm: `Authorization: Bearer <key>`.
    anthropic: `x-api-key: <key>`, and `anthropic-version` must be present (else 400
    invalid_request_error "anthropic-version: header is required").
    ollama, llamacpp: no key needed.
    No key -> 401 with the flavour's exact body: OpenRouter {"error":{"code":401,"message":
    "No auth credentials found"}}; OpenAI/Scaleway {"error":{"message":"You didn't provide
    an API key. …","type":"invalid_request_error","param":null,"code":null}}; Anthropic
    {"type":"error","error":{"type":"authentication_error","message":"x-api-key header is
    required"},"request_id":"req_…"}; Mistral {"object":"error","message":"Unauthorized",
    "type":"invalid_request_error","param":null,"code":null}; vLLM {"error":"Unauthorized"}
    (yes, a string).
    Key `bad-key` -> 401 invalid credentials (OpenRouter "User not found.", OpenAI
    code "invalid_api_key" with the key masked, Anthropic "invalid x-api-key", llama.cpp
    {"error":{"code":401,"message":"Invalid API Key","type":"authentication_error"}}); Ollama
    ignores keys.  The bad key itself never appears in these bodies.
    Model `fake/key-echo` (any flavour, before the checks above) -> 401 with the flavour's
    body whose message is "Invalid API key provided: <the full key received>": a careless
    provider whose answer ami must redact.

REQUEST CHECKS (chat routes, after authentication)
    OpenRouter: a model whose id ends in ":free" asked with "provider":{"data_collection":
    "deny"} (or "zdr":true) -> 404 "No endpoints found matching your data policy (Free model
    training). Configure: https://openrouter.ai/settings/privacy" (Zero data retention).
    body not JSON -> 400; no `model` -> 400; `messages` not a list -> 400 (Mistral: 422
    whose `message` is an object); Anthropic without an integer `max_tokens` -> 400
    "max_tokens: Field required".  `"stream": true` streams SSE; otherwise one JSON answer
    (chat.completion / Anthropic message) with the scenario's text, its first 100000
    deltas, the stream-only endings (drop, silence, errors…) ignored.

SCENARIOS  — chosen by the request's model: "fake/<scenario>?k=v&k=v" (URL-encoded values)
    Every chunk reports the answered model: the requested id without its "?…" plus
    "-20250101" (fake/hello?gap_ms=5 -> fake/hello-20250101; anthropic/claude-sonnet-4 ->
    anthropic/claude-sonnet-4-20250101).  Any other model id, or an unknown scenario, is
    `hello` (parameters still apply).

    hello               "Hello, world! Ça va ? 👋" as 6 deltas: "Hello" "," " world" "!"
                        " Ça va ?" " 👋"; finish stop.
    echo?size=5         the last user message (string content, or the concatenated `text`
                        of its parts/blocks) verbatim, in deltas of `size` characters (code
                        points, not bytes).
    text?text=…         the URL-decoded text, one delta per word with its leading
                        whitespace (the deltas concatenate back to the text exactly).
    count?n=5           n deltas "1 " "2 " … "n ".
    flood?n=20000&size=4  n deltas of `size` characters: the text is the alphabet
                        "abcdefghijklmnopqrstuvwxyz0123456789" repeated, cut at n*size.
                        Rendered from a template and written in 64-256 KiB blocks
                        (several hundred thousand deltas/s).
    essay?n=2000&tps=200&seed=1  n deltas of deterministic Markdown (a "# Essai…" title,
                        "## N. …" headings, paragraphs with a newline every 12 words,
                        "- " bullet lists, ```c fenced code blocks, French accents), paced at
                        tps deltas/s (tps=0: as fast as possible).
    demo?tps=40         a canned French critique, by an "expert friend", of the unclear
                        paragraph of examples/sample-note.md ("Pourquoi ce choix"), in the
                        margin-notes shape (7 notes on its words): comments and questions
                        quoting its words, no rewrite.  Starts with
                        "[démo hors ligne — réponse préenregistrée, aucun modèle n'a été
                        appelé]".  One delta per word, tps deltas/s.
    notes?set=basic|deviations|many&n=1000&tps=0  an answer in the margin-notes shape
                        ("## Note: kind" / "> words" / comment) about the sample note's
                        "Pourquoi ce choix" paragraph: basic (4 notes quoting its words, one
                        across a hard-wrapped line, a general remark before and after),
                        deviations (a numbered ### heading, a bold heading, "Remarque" with
                        an NBSP, no kind, guillemets, a blockquote over two lines, an invented
                        quote, a short one, emphasis, a "note" inside a code fence, a note
                        without words), many (n numbered notes cycling through 5 quotes).  One
                        delta per word, tps deltas/s (0: at once).
    split-codepoint     deltas whose JSON strings carry raw bytes cut inside characters:
                        "Un caf\\xc3" | "\\xa9 noir, s'il vous pla\\xc3" | "\\xaet ! Et un
                        croissant \\xf0\\x9f" | "\\xa5\\x90 pour 3 \\xe2" | "\\x82\\xac."  =
                        "Un café noir, s'il vous plaît ! Et un croissant 🥐 pour 3 €."
    invalid-utf8        raw invalid bytes among valid text: "Valid start, " | "then \\xff
                        here" | ", a lone \\x80 continuation" | ", an overlong \\xc0\\xaf" |
                        ", a surrogate \\xed\\xa0\\x80" | ", a cut \\xe2\\x82 sequence" | ", and
                        valid é end."
    reasoning           6 reasoning deltas "The user greets me; a short answer is enough."
                        then 5 text deltas "Bonjour ! Voici la réponse.".  Where the
                        reasoning goes: openrouter delta.reasoning (+ reasoning_details),
                        ollama delta.reasoning, llamacpp/vllm delta.reasoning_content
                        (param reasoning_field=NAME overrides), mistral content parts
                        [{"type":"thinking","thinking":[{"type":"text","text":…}]}], anthropic
                        a thinking block (thinking_delta…, signature_delta) before the text
                        block; openai/scaleway delta.reasoning.
    done-at-eof         hello, then the stream ends with "data: [DONE]" with no line ending
                        at all (Anthropic: the message_stop event without its line endings),
                        chunked terminator, Connection: close.
    no-finish?after=3   `after` count deltas, then the chunked terminator and close: no
                        finish_reason, no usage, no [DONE] / message_delta / message_stop.
    drop?after=3&rst=0  `after` count deltas, then half of the next event inside a chunk
                        that announced all of it, and the TCP connection is shut down (FIN;
                        rst=1: a TCP reset, no FIN).  No terminator.
    silence?after=3&secs=60  `after` count deltas, then nothing for secs seconds, connection
                        open (a client disconnect is noticed at once), then a normal end.
    endless?gap_ms=5    count deltas forever, gap_ms apart, until the client disconnects.
    midstream-error?after=3&code=…&message=…  `after` count deltas, then the flavour's
                        mid-stream error, then the terminator and close (HTTP status 200):
        openrouter  data: {"id","provider","model","object","created","error":{"code":429,
                    "message":"Rate limit exceeded","metadata":{"error_type":
                    "rate_limit_exceeded","provider_name":"Fake"}},"choices":[{"index":0,
                    "delta":{"content":""},"finish_reason":"error",…}]}   (no [DONE]);
                    usage=1: the same chunk also carries "usage" (tokens and cost), then
                    "data: [DONE]", as OpenRouter was recorded doing
        openai, mistral, scaleway  data: {"error":{"message","type":"server_error","param":
                    null,"code":null}}
        ollama      data: {"error":{"message","type":"api_error","param":null,"code":null}}
        anthropic   event: error / data: {"type":"error","error":{"type":"overloaded_error",
                    "message":"Overloaded"}}   (param type= changes the type)
        llamacpp    the old non-standard line  error: {"code":500,"message","type":
                    "server_error"}  (style=data: data: {"error":{…}})
        vllm        data: {"error":{"object":"error","message","type":"BadRequestError",
                    "code":400}} followed by data: [DONE], as vLLM does.
                    code=VALUE sets the code: digits -> a number, "null" -> null, anything
                    else a string (code=server_error).
    http-error?status=429&times=1&retry_after=&retry_after_ms=&body=json&message=
                        the first `times` requests with this exact model string, counted per
                        (flavour, model string) in memory (times=-1: always), get `status`,
                        with Retry-After (retry-after-ms) when given, and the body:
                        json = the flavour's exact error body for that status (below), none
                        = empty, html = nginx's error page (text/html), text = "<status>
                        <reason>\\n" (text/plain).  Later requests behave like hello.
    not-sse             200, Content-Type application/json, a non-streaming chat.completion
                        (Anthropic: message) JSON of hello, no newline at the end.
    bigline?size=1048576  deltas "Big:", `size` characters (one data line over 1 MiB),
                        " end.", then a normal end.
    nested?depth=100000   "Before", then a data event whose chunk carries an extra
                        "x_extra": [{"a":[{"a":…0…}]}] nested `depth` arrays/objects deep
                        (Anthropic: a ping event carries it), then " after.".
    huge?mb=20&field=padding  "Before", then one chunk of `mb` MiB: an "x_extra" string of
                        that size next to an empty delta (field=content: the delta itself is
                        `mb` MiB of "x"), then " after.".
    key-echo            see AUTHENTICATION.

PARAMETERS FOR EVERY STREAM
    delay_ms=N    wait before the status line (the request is already logged).
    ttft_ms=N     wait after the preamble (headers, OpenRouter comments, role chunk,
                  message_start) before the first delta.
    keepalive_ms=N  OpenRouter: during ttft_ms, one ": OPENROUTER PROCESSING" comment every
                  N ms.
    gap_ms=N      wait between steps: between deltas (a delta's step includes any Anthropic
                  content_block_start/ping/stop it brings), before the finish step and
                  before the final [DONE]/message_stop.  For deltas it overrides tps.
    tps=N         (essay, demo) deltas per second.  Each delta waits 1/tps on its own, and a
                  wait lasts at least about 1 ms: about 900 deltas/s at most, unless
    tick_ms=N     (essay, demo, with tps) delta i is due i/tps s after the first, and the
                  deltas due within the same N ms go out in one socket write: high rates
                  are reached, as a fast model behind a real network delivers them.
    chunk=N       the body is sent N payload bytes per HTTP chunk, each chunk its own socket
                  write (TCP_NODELAY): chunk=1 is byte by byte, splitting UTF-8 sequences,
                  CRLF pairs and everything else.  Without it, events are coalesced into
                  large chunks until the next pause.
    eol=lf|crlf|cr  line endings of the SSE framing.
    framing=chunked|close  close: no Transfer-Encoding, the body ends when the connection
                  closes (what an HTTP/1.0 request always gets).
    multiline=1   every JSON document split after its top-level commas over several `data:`
                  lines (one event; joined with LF it is the same JSON).
    space=0       "data:{…}" / "event:name" with no space after the colon.
    bom=1         a UTF-8 BOM before the first byte of the stream.
    ascii=1       non-ASCII escaped as \\uXXXX (emoji as surrogate pairs; raw bytes of the
                  invalid scenarios become lone-surrogate escapes).
    finish=stop|length|content_filter  the finish_reason (Anthropic: end_turn, max_tokens,
                  refusal).
    cost=X|null   OpenRouter usage.cost (and the generation's total_cost) forced to X / null.
    processing=2  OpenRouter: the number of ": OPENROUTER PROCESSING" comments first.
    usage_choices=empty|content  OpenRouter's last chunk: `empty` = a finish chunk
                  (delta.content "", finish_reason) then a usage chunk with "choices":[];
                  `content` = one chunk with delta.content "", finish_reason and usage.
    parts=1       Mistral: delta.content is [{"type":"text","text":…}].
    reasoning_field=NAME  the delta field that carries reasoning.

TOKENS AND COST
    prompt_tokens = ceil(C / 4), C = characters (code points) of every message content
    (a string, or the `text` of its parts) plus Anthropic's top-level `system`.
    completion_tokens = the number of deltas carrying text or reasoning
    (reasoning_tokens = those carrying reasoning); the extra chunks of nested/huge and the
    empty role/finish deltas do not count.  total_tokens = the sum.
    OpenRouter cost = prompt_tokens * 3e-6 + completion_tokens * 15e-6 as a JSON float
    (0.0 for fake/free), also in cost_details.upstream_inference_*_cost.

STREAM SHAPES PER FLAVOUR  (each data event: "data: <compact JSON>" + blank line)
    openrouter  Content-Type text/event-stream, X-Generation-Id = the chunks' id (gen-…).
                ": OPENROUTER PROCESSING" comments, then chunks {"id","provider":"Fake",
                "model","object":"chat.completion.chunk","created","choices":[{"index":0,
                "delta":{"role":"assistant","content":…},"finish_reason":null,
                "native_finish_reason":null,"logprobs":null}]}; a finish chunk, a usage chunk
                (see usage_choices) with usage {prompt_tokens, completion_tokens,
                total_tokens, cost, is_byok, prompt_tokens_details, cost_details,
                completion_tokens_details}; "data: [DONE]".
    openai      first delta {"role":"assistant","content":"","refusal":null}; chunks carry
                service_tier, system_fingerprint, logprobs and a varying "obfuscation"
                string; finish chunk delta {}; with stream_options.include_usage every chunk
                has "usage":null and a last chunk "choices":[] holds usage (without it: no
                usage field, no usage chunk); "data: [DONE]".
    mistral     first delta role + content ""; the last chunk has delta.content "",
                finish_reason and usage {prompt_tokens,total_tokens,completion_tokens}
                together (always); "data: [DONE]".
    scaleway    like vllm (with a key).
    ollama      every delta has role "assistant"; JSON escaped the Go way (<, >, & as
                \\u003c \\u003e \\u0026); usage chunk ("choices":[]) only with include_usage;
                "data: [DONE]".
    llamacpp    keys sorted (nlohmann::json); first chunk delta {"content":null,"role":
                "assistant"}; the finish chunk (delta {}) carries usage and timings; ends
                "data: [DONE]\\n" with NO blank line before the terminator.
    vllm        first delta role + content ""; finish chunk with "stop_reason":null; usage
                chunk ("choices":[]) only with include_usage; "data: [DONE]".
    anthropic   event: message_start (message.model, usage.input_tokens, output_tokens 1)
                -> content_block_start -> ping (data {"type": "ping"}, with a space, as
                Anthropic sends it) -> content_block_delta (text_delta)… ->
                content_block_stop -> message_delta (stop_reason, usage.output_tokens =
                cumulative total) -> message_stop.  Each "event: NAME" + "data: {…}" + blank
                line.  No [DONE].
    Responses are chunked (Transfer-Encoding: chunked) and keep the connection alive,
    except no-finish, done-at-eof, drop, midstream-error and framing=close (Connection:
    close).

ERROR BODIES (http-error body=json, auth, request checks)
    openrouter  {"error":{"code":<status>,"message",["metadata"]}}: 403 metadata {reasons,
                flagged_input, provider_name, model_slug}; 429 metadata {headers:
                X-RateLimit-*}; 502 metadata {raw, provider_name}.
    openai      {"error":{"message","type","param":null,"code"}} pretty-printed (4-space
                indent, several lines, final newline); 429 type "requests" code
                "rate_limit_exceeded"; 5xx type "server_error".  scaleway: same, compact.
    anthropic   {"type":"error","error":{"type","message"},"request_id":"req_…"}; type 400
                invalid_request_error, 401 authentication_error, 403 permission_error, 404
                not_found_error, 413 request_too_large, 429 rate_limit_error, 500 api_error,
                529 overloaded_error.
    mistral     {"object":"error","message","type","param":null,"code"}; 422: message is an
                object {"detail":[…]}; 429: type "rate_limited", code "1300".
    ollama      {"error":{"message","type","param":null,"code":null}}.
    llamacpp    {"error":{"code":<status>,"message","type"}}.
    vllm        {"object":"error","message","type":"BadRequestError"…,"param":null,
                "code":<status>}; 401 {"error":"Unauthorized"}.
    message= in http-error replaces the message.
"""
import argparse
import email.utils
import hashlib
import http
import json
import json.encoder
import os
import re
import secrets
import select
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FLAVOURS = ("openrouter", "openai", "mistral", "scaleway", "ollama", "llamacpp", "vllm",
            "anthropic")
# Flavours that refuse a request without a key (ollama and llama.cpp run keyless).
NEEDS_KEY = ("openrouter", "openai", "mistral", "scaleway", "vllm", "anthropic")
BAD_KEY = "bad-key"
MODEL_SUFFIX = "-20250101"

# --------------------------------------------------------------------------------------------
# Content: what each scenario says, independent of any wire format.
# --------------------------------------------------------------------------------------------

HELLO = ["Hello", ",", " world", "!", " Ça va ?", " 👋"]
REASONING_THOUGHT = ["The user", " greets", " me;", " a short", " answer", " is enough."]
REASONING_ANSWER = ["Bonjour", " !", " Voici", " la", " réponse."]
# "Un café noir, s'il vous plaît ! Et un croissant 🥐 pour 3 €." cut inside é (2 bytes: 1+1),
# î (1+1), 🥐 (4 bytes: 2+2) and € (3 bytes: 1+2).
SPLIT_CODEPOINT = [b"Un caf\xc3", b"\xa9 noir, s'il vous pla\xc3",
                   b"\xaet ! Et un croissant \xf0\x9f", b"\xa5\x90 pour 3 \xe2", b"\x82\xac."]
# 0xff (never valid), 0x80 (lone continuation byte), 0xc0 0xaf (overlong '/'), 0xed 0xa0 0x80
# (an encoded UTF-16 surrogate), a truncated 3-byte sequence before ASCII.
INVALID_UTF8 = [b"Valid start, ", b"then \xff here", b", a lone \x80 continuation",
                b", an overlong \xc0\xaf", b", a surrogate \xed\xa0\x80",
                b", a cut \xe2\x82 sequence", b", and valid \xc3\xa9 end."]
FLOOD_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"

DEMO_TEXT = """[démo hors ligne — réponse préenregistrée, aucun modèle n'a été appelé]

Je m'arrête sur le paragraphe de « Pourquoi ce choix », parce que c'est le cœur de ta note \
et aussi le passage où je t'ai le moins bien suivi.

## Note: clarity
> ça finit par faire le travail à notre place

À quoi renvoie « ça » ? À l'outil, au fait qu'« on laisse faire », ou à l'habitude qui \
s'installe ? Le lecteur doit deviner le sujet de ta phrase principale.

## Note: ambiguity
> quand on laisse faire l'outil

Faire quoi, exactement ? Rédiger, reformuler, choisir le plan ? Ta section « Ma méthode » \
distingue très nettement écrire et relire ; ici, cette distinction disparaît, alors que \
c'est elle qui justifie ton choix.

## Note: argument
> on perd quelque chose

C'est l'expression qui porte tout l'argument, et c'est la plus vague du paragraphe. Tu \
penses à un savoir-faire, à l'effort de chercher le mot juste, à ta propre voix ? Tant que \
ce « quelque chose » n'a pas de nom, le lecteur ne peut ni être d'accord ni te contredire.

## Note: question
> un peu comme avec le GPS

L'image parle à tout le monde, mais tu n'en dis que la moitié : qu'est-ce qu'on perd, avec \
le GPS ? Le sens de l'orientation, la carte mentale de sa ville ? Sans cette moitié, \
difficile de vérifier que « c'est plus grave ».

## Note: clarity
> c'est la pensée elle-même qui est concernée

Une affirmation forte, que tu retires aussitôt avec « enfin du moins c'est ce que je \
ressens ». Est-ce une conviction ou une intuition ? Les deux se défendent, mais on \
aimerait savoir laquelle des deux tu assumes.

## Note: structure
> Le problème, c'est que quand on laisse faire

Tout le paragraphe tient en une seule phrase, enchaînée par « et », « un peu comme », « \
sauf que », « enfin ». Où voudrais-tu que ton lecteur reprenne son souffle ?

## Note: question
> Un collègue m'a demandé

Une question pour finir : si tu devais expliquer ce paragraphe à ton collègue en une \
phrase de dix mots, lesquels choisirais-tu ? Ta réponse est sans doute la phrase qui \
manque.
"""

# Margin notes (the answer's shape ami asks for: "## Note: kind", "> the words", comment),
# about examples/sample-note.md, whose "Pourquoi ce choix" paragraph (lines 21-23) is
# hard-wrapped: "ça finit par faire le travail à notre" ends line 21.
NOTES_BASIC = """Je me concentre sur le paragraphe « Pourquoi ce choix ».

## Note: clarity
> ça finit par faire le travail à notre place

À quoi renvoie « ça » ? L'outil, ou l'habitude ?

## Note: ambiguity
> on perd quelque chose

Quoi, exactement ? Un savoir-faire, ta voix ?

## Note: question
> un peu comme avec le GPS

Que perd-on avec le GPS ? Sans cette moitié, la comparaison reste ouverte.

## Note: structure
> enfin du moins c'est ce que je ressens

Tu retires aussitôt ce que tu affirmes : conviction ou intuition ?

En résumé : le paragraphe tient en une phrase ; où le lecteur respire-t-il ?
"""

NOTES_DEVIATIONS = """Quelques remarques.

### Note 1: clarity
> « ça finit par faire le travail »

Le sujet de « ça » manque.

**Note 2 — question**
> quand on laisse faire
> l'outil

Faire quoi ?

## Remarque\u00a0: style
> “la pensée elle-même”

Une affirmation forte.

## Note
> c'est plus grave parce que c'est la pensée

Pourquoi plus grave ?

## Note: argument
> ce mot n'existe nulle part dans la note

Inventé.

## Note: clarity
> GPS

Le mot GPS apparaît une fois.

```
## Note: style
> pas une note (dans un bloc de code)
```

## Note: praise
> *écrire à ma place*

Bien dit.

## Note: ambiguity

Une remarque sans mots cités.

Pour finir, une remarque générale.
"""

ESSAY_WORDS = (
    "le flux arrive par morceaux et chaque événement doit être décodé sans perte même quand "
    "un caractère accentué tombe à cheval sur deux lectures du réseau ; la mémoire reste "
    "bornée, le terminal affiche déjà la suite, et personne ne remarque le travail du "
    "tampon circulaire qui garde les octets orphelins jusqu'à la prochaine réception où "
    "l'éditeur reçoit enfin des morceaux entiers de texte lisible sans hésitation ni "
    "ralentissement perceptible pour l'utilisatrice qui écrit sa note en français ou en "
    "anglais selon l'humeur du jour").split()
ESSAY_TITLES = ["Lire un flux", "Découper les octets", "Garder la main", "Mesurer le coût",
                "Éviter les pièges", "Conclure sans hâte"]
ESSAY_CODE = [
    ["```", "c", "\n"],
    ["for", " (", "size_t", " i", " =", " 0", ";", " i", " <", " n", ";", " i", "++)", " {", "\n"],
    ["    ", "if", " (", "buf", "[i]", " ==", " '\\n'", ")", "\n"],
    ["        ", "emit", "(", "line", ",", " i", ");", "\n"],
    ["}", "\n"],
    ["```", "\n\n"],
]


class Lcg:
    """A tiny deterministic generator, independent of the Python version's `random`."""

    def __init__(self, seed):
        self.x = (seed * 2654435761 + 12345) & 0xFFFFFFFF

    def below(self, n):
        self.x = (self.x * 1103515245 + 12345) & 0x7FFFFFFF
        return (self.x >> 8) % n


def essay_tokens(seed):
    """Endless deterministic Markdown, one token per item."""
    rng = Lcg(seed)
    for w in ("#", " Essai", " sur", " les", " flux", " de", " texte", "\n\n"):
        yield w
    section = 0
    while True:
        section += 1
        yield "##"
        yield " %d." % section
        for w in ESSAY_TITLES[(section - 1) % len(ESSAY_TITLES)].split(" "):
            yield " " + w
        yield "\n\n"
        for line in range(2 + rng.below(3)):
            for i in range(12):
                w = ESSAY_WORDS[rng.below(len(ESSAY_WORDS))]
                if line == 0 and i == 0:
                    yield w[:1].upper() + w[1:]
                else:
                    yield " " + w
            yield ".\n" if line % 2 else "\n"
        yield "\n"
        for _ in range(3 + rng.below(3)):
            yield "-"
            for _ in range(5 + rng.below(5)):
                yield " " + ESSAY_WORDS[rng.below(len(ESSAY_WORDS))]
            yield "\n"
        yield "\n"
        if section % 2 == 0:
            for line in ESSAY_CODE:
                for tok in line:
                    yield tok


def words(text):
    """Splits text into deltas, one per word with its leading whitespace; the pieces
    concatenate back to text exactly."""
    pieces = re.findall(r"\s*\S+", text)
    tail = text[len("".join(pieces)):]
    if tail:
        if pieces:
            pieces[-1] += tail
        else:
            pieces = [tail]
    return pieces


def raw(b):
    """Bytes (possibly invalid UTF-8) as a str whose invalid bytes are lone surrogates; the
    renderers turn them back into the very same raw bytes on the wire."""
    return b.decode("utf-8", "surrogateescape")


def sanitize(s):
    """Text from a request: lone surrogates from JSON escapes become raw (invalid) bytes."""
    return s.encode("utf-8", "surrogatepass").decode("utf-8", "surrogateescape")


def count_deltas(start=1, stop=None):
    i = start
    while stop is None or i <= stop:
        yield ("text", "%d " % i)
        i += 1


def text_of(content):
    """The text of a message content: a string, or the `text` of its parts/blocks."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        out = []
        for part in content:
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                out.append(part["text"])
            elif isinstance(part, str):
                out.append(part)
        return "".join(out)
    return ""


def prompt_tokens_of(req):
    """ceil(characters / 4) over every message content plus Anthropic's top-level system."""
    chars = 0
    msgs = req.get("messages")
    if isinstance(msgs, list):
        for m in msgs:
            if isinstance(m, dict):
                chars += len(text_of(m.get("content")))
    chars += len(text_of(req.get("system")))
    return (chars + 3) // 4


def last_user_text(req):
    msgs = req.get("messages")
    if isinstance(msgs, list):
        for m in reversed(msgs):
            if isinstance(m, dict) and m.get("role") == "user":
                return sanitize(text_of(m.get("content")))
    return ""


# --------------------------------------------------------------------------------------------
# Parameters of a model string: fake/<scenario>?k=v&k=v
# --------------------------------------------------------------------------------------------


class Params:
    def __init__(self, query):
        self.d = dict(urllib.parse.parse_qsl(query, keep_blank_values=True))

    def has(self, k):
        return k in self.d

    def str(self, k, default=None):
        return self.d.get(k, default)

    def int(self, k, default):
        try:
            return int(self.d[k])
        except (KeyError, ValueError):
            return default

    def float(self, k, default):
        try:
            return float(self.d[k])
        except (KeyError, ValueError):
            return default


def parse_model(model):
    """'fake/flood?n=3' -> ('flood', Params, 'fake/flood'); other ids -> ('hello', …)."""
    base, _, query = model.partition("?")
    scen = base[5:] if base.startswith("fake/") else "hello"
    return scen, Params(query), base


class Plan:
    """What a streaming answer does: its deltas (kind, text), then how it ends.

    kinds: "text", "reasoning", or "extra" (text = a JSON value carried by an otherwise empty
    chunk, for `nested` and `huge`).  ends: finish, no-finish, done-at-eof, drop, silence,
    midstream-error.  `pace` is the default gap between deltas in seconds (tps)."""

    def __init__(self, deltas, end="finish", pace=0.0, finish="stop"):
        self.deltas = deltas
        self.end = end
        self.pace = pace
        self.finish = finish


def make_plan(scen, p, req):

    def tps_gap(default):
        tps = p.float("tps", default)
        return 1.0 / tps if tps > 0 else 0.0

    finish = p.str("finish", "stop")
    if scen == "echo":
        text = last_user_text(req)
        n = max(1, p.int("size", 5))
        return Plan([("text", text[i:i + n]) for i in range(0, len(text), n)], finish=finish)
    if scen == "text":
        return Plan([("text", w) for w in words(sanitize(p.str("text", "")))], finish=finish)
    if scen == "count":
        return Plan(count_deltas(1, p.int("n", 5)), finish=finish)
    if scen == "flood":
        n, size = p.int("n", 20000), max(1, p.int("size", 4))
        total = n * size
        s = (FLOOD_ALPHABET * (total // len(FLOOD_ALPHABET) + 1))[:total]
        return Plan((("text", s[i:i + size]) for i in range(0, total, size)), finish=finish)
    if scen == "essay":
        n = p.int("n", 2000)
        gen = essay_tokens(p.int("seed", 1))
        return Plan((("text", next(gen)) for _ in range(n)), pace=tps_gap(200), finish=finish)
    if scen == "demo":
        return Plan([("text", w) for w in words(DEMO_TEXT)], pace=tps_gap(40), finish=finish)
    if scen == "notes":
        kind = p.str("set", "basic")
        if kind == "many":
            n = p.int("n", 1000)
            quotes = ["ça finit par faire", "on perd quelque chose", "le GPS",
                      "la pensée elle-même", "écrire à ma place"]
            text = "".join("## Note %d: style\n> %s\n\nRemarque %d.\n\n" % (i + 1, quotes[i % 5], i + 1)
                           for i in range(n))
        else:
            text = NOTES_DEVIATIONS if kind == "deviations" else NOTES_BASIC
        return Plan([("text", w) for w in words(text)], pace=tps_gap(0), finish=finish)
    if scen == "split-codepoint":
        return Plan([("text", raw(b)) for b in SPLIT_CODEPOINT], finish=finish)
    if scen == "invalid-utf8":
        return Plan([("text", raw(b)) for b in INVALID_UTF8], finish=finish)
    if scen == "reasoning":
        return Plan([("reasoning", t) for t in REASONING_THOUGHT] +
                    [("text", t) for t in REASONING_ANSWER], finish=finish)
    if scen == "done-at-eof":
        return Plan([("text", t) for t in HELLO], end="done-at-eof", finish=finish)
    if scen in ("no-finish", "drop", "silence", "midstream-error"):
        return Plan(count_deltas(1, p.int("after", 3)), end=scen, finish=finish)
    if scen == "endless":
        return Plan(count_deltas(1, None), end="finish", finish=finish)
    if scen == "bigline":
        size = p.int("size", 1048576)
        s = (FLOOD_ALPHABET * (size // len(FLOOD_ALPHABET) + 1))[:size]
        return Plan([("text", "Big:"), ("text", s), ("text", " end.")], finish=finish)
    if scen == "nested":
        depth = max(1, p.int("depth", 100000))
        pairs, odd = divmod(depth, 2)
        value = '[{"a":' * pairs + ("[0]" if odd else "0") + "}]" * pairs
        return Plan([("text", "Before"), ("extra", value), ("text", " after.")], finish=finish)
    if scen == "huge":
        size = int(p.float("mb", 20) * 1048576)
        if p.str("field", "padding") == "content":
            return Plan([("text", "x" * size)], finish=finish)
        return Plan([("text", "Before"), ("extra", '"' + "x" * max(0, size - 2) + '"'),
                     ("text", " after.")], finish=finish)
    return Plan([("text", t) for t in HELLO], finish=finish)


# --------------------------------------------------------------------------------------------
# JSON and SSE rendering
# --------------------------------------------------------------------------------------------

SENTINEL = "\x01S\x01"
SENTINEL_JSON = '"\\u0001S\\u0001"'


def go_escape(s):
    """Go's encoding/json escapes <, >, & and U+2028/U+2029 (Ollama is written in Go)."""
    if "<" in s or ">" in s or "&" in s or "\u2028" in s or "\u2029" in s:
        s = (s.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
             .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))
    return s


def split_members(js):
    """Cuts a JSON object's text after each top-level comma (outside strings), so that its
    lines joined by LF are the same document."""
    out, depth, in_str, esc, start = [], 0, False, False, 0
    for i, c in enumerate(js):
        if in_str:
            if esc:
                esc = False
            elif c == "\\":
                esc = True
            elif c == '"':
                in_str = False
        elif c == '"':
            in_str = True
        elif c in "[{":
            depth += 1
        elif c in "]}":
            depth -= 1
        elif c == "," and depth == 1:
            out.append(js[start:i + 1])
            start = i + 1
    out.append(js[start:])
    return out


def new_id(prefix, n=24, alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"):
    return prefix + "".join(secrets.choice(alphabet) for _ in range(n))


class Ctx:
    """Everything one answer needs to render itself."""

    def __init__(self, flavour, req, model, scen, p, base):
        self.flavour = flavour
        self.req = req
        self.model = model
        self.scen = scen
        self.p = p
        self.answered = base + MODEL_SUFFIX
        self.created = int(time.time())
        self.prompt_tokens = prompt_tokens_of(req)
        so = req.get("stream_options")
        self.include_usage = isinstance(so, dict) and so.get("include_usage") is True
        self.eol = {"lf": "\n", "crlf": "\r\n", "cr": "\r"}.get(p.str("eol", "lf"), "\n")
        self.ascii = p.str("ascii") == "1"
        self.space = p.str("space", "1") != "0"
        self.multiline = p.str("multiline") == "1"
        self.bom = p.str("bom") == "1"
        self.sort_keys = flavour == "llamacpp"
        self.go = flavour == "ollama"
        self.free = base == "fake/free"
        if flavour == "openrouter":
            self.id = "gen-%d-%s" % (self.created, new_id("", 20))
        elif flavour == "anthropic":
            self.id = new_id("msg_01", 22)
        elif flavour == "mistral":
            self.id = secrets.token_hex(16)
        elif flavour == "ollama":
            self.id = "chatcmpl-%d" % (secrets.randbelow(900) + 100)
        elif flavour == "llamacpp":
            self.id = new_id("chatcmpl-", 32)
        else:
            self.id = "chatcmpl-" + (secrets.token_hex(16) if flavour in ("vllm", "scaleway")
                                     else new_id("", 29))

    def dumps(self, obj):
        s = json.dumps(obj, ensure_ascii=self.ascii, separators=(",", ":"),
                       sort_keys=self.sort_keys)
        return go_escape(s) if self.go else s

    def esc(self, text):
        s = (json.encoder.encode_basestring_ascii if self.ascii
             else json.encoder.encode_basestring)(text)
        return go_escape(s) if self.go else s

    def event(self, json_text, name=None):
        """One SSE event: optional `event:` line, `data:` line(s), blank line."""
        eol = self.eol
        head = "data: " if self.space else "data:"
        lines = split_members(json_text) if self.multiline else (json_text,)
        s = ("event: " if self.space else "event:") + name + eol if name else ""
        return s + "".join(head + line + eol for line in lines) + eol

    def cost(self, prompt, completion):
        c = self.p.str("cost")
        if c is not None:
            if c == "null":
                return None
            try:
                return float(c)
            except ValueError:
                pass
        if self.free:
            return 0.0
        return prompt * 3e-6 + completion * 15e-6


class Template:
    """A chunk rendered once with a sentinel in place of the text; each delta is then the
    parts joined by the JSON-escaped text.  This is what makes `flood` fast."""

    def __init__(self, ctx, event_text):
        self.ctx = ctx
        self.parts = event_text.split(SENTINEL_JSON)

    def render(self, text):
        return self.ctx.esc(text).join(self.parts)


class ChatRenderer:
    """OpenAI-compatible chat.completion.chunk streams, with each flavour's quirks."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.f = ctx.flavour
        self.templates = {}
        self.text_deltas = 0
        self.reasoning_deltas = 0
        self.obf = [new_id("", k) for k in (3, 7, 11, 15)]
        self.n_chunks = 0

    # The chunk envelope, in each server's own key order.
    def chunk(self, choices, **extra):
        c = self.ctx
        f = self.f
        if f == "openrouter":
            d = {"id": c.id, "provider": "Fake", "model": c.answered,
                 "object": "chat.completion.chunk", "created": c.created, "choices": choices}
        elif f == "openai":
            d = {"id": c.id, "object": "chat.completion.chunk", "created": c.created,
                 "model": c.answered, "service_tier": "default",
                 "system_fingerprint": "fp_fake0001", "choices": choices}
            if c.include_usage:
                d["usage"] = None
        elif f == "ollama":
            d = {"id": c.id, "object": "chat.completion.chunk", "created": c.created,
                 "model": c.answered, "system_fingerprint": "fp_ollama", "choices": choices}
        elif f == "llamacpp":
            d = {"choices": choices, "created": c.created, "id": c.id, "model": c.answered,
                 "system_fingerprint": "b5000-fake", "object": "chat.completion.chunk"}
        else:  # mistral, vllm, scaleway
            d = {"id": c.id, "object": "chat.completion.chunk", "created": c.created,
                 "model": c.answered, "choices": choices}
        d.update(extra)
        if f == "openai":
            d["obfuscation"] = self.obf[self.n_chunks % len(self.obf)]
        self.n_chunks += 1
        return d

    def choice(self, delta, finish=None, **extra):
        f = self.f
        if f == "openrouter":
            return {"index": 0, "delta": delta, "finish_reason": finish,
                    "native_finish_reason": finish, "logprobs": None}
        if f in ("openai", "vllm", "scaleway"):
            d = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        elif f == "llamacpp":
            d = {"finish_reason": finish, "index": 0, "delta": delta}
        else:
            d = {"index": 0, "delta": delta, "finish_reason": finish}
        d.update(extra)
        return d

    def delta_obj(self, kind, text):
        f = self.f
        if kind == "reasoning":
            field = self.ctx.p.str("reasoning_field")
            if f == "mistral" and not field:
                return {"content": [{"type": "thinking", "thinking": [{"type": "text",
                                                                         "text": text}]}]}
            if not field:
                field = "reasoning_content" if f in ("llamacpp", "vllm") else "reasoning"
            if f == "openrouter":
                return {"role": "assistant", "content": "", field: text,
                        "reasoning_details": [{"type": "reasoning.text", "text": text,
                                               "format": "unknown", "index": 0}]}
            if f == "ollama":
                return {"role": "assistant", "content": "", field: text}
            return {field: text}
        if f in ("openrouter", "ollama"):
            return {"role": "assistant", "content": text}
        if f == "mistral" and self.ctx.p.str("parts") == "1":
            return {"content": [{"type": "text", "text": text}]}
        return {"content": text}

    def headers(self):
        f = self.f
        h = [("Content-Type", "text/event-stream" if f in ("openrouter", "ollama", "llamacpp")
              else "text/event-stream; charset=utf-8"),
             ("Cache-Control", "no-cache")]
        if f == "openrouter":
            h += [("X-Generation-Id", self.ctx.id), ("Access-Control-Allow-Origin", "*"),
                  ("Vary", "Accept-Encoding"), ("Server", "cloudflare")]
        elif f == "openai":
            h += [("openai-organization", "user-fake"), ("openai-processing-ms", "117"),
                  ("openai-version", "2020-10-01"), ("x-request-id", new_id("req_", 32)),
                  ("Server", "cloudflare")]
        elif f == "mistral":
            h += [("x-kong-request-id", secrets.token_hex(16)),
                  ("x-ratelimitbysize-remaining-minute", "499000")]
        elif f == "llamacpp":
            h += [("Server", "llama.cpp"), ("Access-Control-Allow-Origin", "")]
        elif f in ("vllm", "scaleway"):
            h += [("server", "uvicorn")]
        return h

    # ---- the stream, step by step: each method returns the SSE text of one step.

    def preamble(self):
        c = self.ctx
        f = self.f
        out = ""
        if f == "openrouter":
            for _ in range(max(0, c.p.int("processing", 2))):
                out += ": OPENROUTER PROCESSING" + c.eol + c.eol
        elif f in ("openai", "vllm", "scaleway"):
            delta = {"role": "assistant", "content": ""}
            if f == "openai":
                delta["refusal"] = None
            out += c.event(c.dumps(self.chunk([self.choice(delta)])))
        elif f == "mistral":
            out += c.event(c.dumps(self.chunk([self.choice({"role": "assistant",
                                                            "content": ""})])))
        elif f == "llamacpp":
            out += c.event(c.dumps(self.chunk([self.choice({"role": "assistant",
                                                            "content": None})])))
        return out

    def keepalive(self):
        if self.f != "openrouter":
            return ""
        return ": OPENROUTER PROCESSING" + self.ctx.eol + self.ctx.eol

    def delta(self, kind, text):
        if kind == "extra":
            js = self.ctx.dumps(self.chunk([self.choice(self.delta_obj("text", ""))]))
            return self.ctx.event(js[:-1] + ',"x_extra":' + text + "}")
        if kind == "reasoning":
            self.reasoning_deltas += 1
        else:
            self.text_deltas += 1
        # OpenAI's `obfuscation` differs between chunks: one template per variant.
        variant = self.n_chunks % len(self.obf) if self.f == "openai" else 0
        t = self.templates.get((kind, variant))
        if t is None:
            obj = self.chunk([self.choice(self.delta_obj(kind, SENTINEL))])
            t = self.templates[(kind, variant)] = Template(self.ctx,
                                                           self.ctx.event(self.ctx.dumps(obj)))
        else:
            self.n_chunks += 1
        return t.render(text)

    def finish_reason(self, plan):
        return plan.finish

    def usage(self):
        c = self.ctx
        p, n = c.prompt_tokens, self.text_deltas + self.reasoning_deltas
        f = self.f
        if f == "openrouter":
            cost = c.cost(p, n)
            return {"prompt_tokens": p, "completion_tokens": n, "total_tokens": p + n,
                    "cost": cost, "is_byok": False,
                    "prompt_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0,
                                              "audio_tokens": 0},
                    "cost_details": {"upstream_inference_cost": None,
                                     "upstream_inference_prompt_cost": 0 if c.free else p * 3e-6,
                                     "upstream_inference_completions_cost":
                                         0 if c.free else n * 15e-6},
                    "completion_tokens_details": {"reasoning_tokens": self.reasoning_deltas,
                                                  "image_tokens": 0}}
        if f == "openai":
            return {"prompt_tokens": p, "completion_tokens": n, "total_tokens": p + n,
                    "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
                    "completion_tokens_details": {"reasoning_tokens": self.reasoning_deltas,
                                                  "audio_tokens": 0,
                                                  "accepted_prediction_tokens": 0,
                                                  "rejected_prediction_tokens": 0}}
        if f == "mistral":
            return {"prompt_tokens": p, "total_tokens": p + n, "completion_tokens": n}
        if f in ("vllm", "scaleway"):
            return {"prompt_tokens": p, "total_tokens": p + n, "completion_tokens": n,
                    "prompt_tokens_details": None}
        if f == "llamacpp":
            return {"completion_tokens": n, "prompt_tokens": p, "total_tokens": p + n}
        return {"prompt_tokens": p, "completion_tokens": n, "total_tokens": p + n}

    def finish(self, plan):
        """The finish chunk(s) and usage, without the final [DONE]."""
        c = self.ctx
        f = self.f
        reason = plan.finish
        if f == "openrouter":
            if c.p.str("usage_choices", "empty") == "content":
                return c.event(c.dumps(self.chunk(
                    [self.choice({"role": "assistant", "content": ""}, reason)],
                    usage=self.usage())))
            return (c.event(c.dumps(self.chunk([self.choice({"role": "assistant",
                                                             "content": ""}, reason)])))
                    + c.event(c.dumps(self.chunk([], usage=self.usage()))))
        if f == "openai":
            out = c.event(c.dumps(self.chunk([self.choice({}, reason)])))
            if c.include_usage:
                out += c.event(c.dumps(self.chunk([], usage=self.usage())))
            return out
        if f == "mistral":
            return c.event(c.dumps(self.chunk([self.choice({"content": ""}, reason)],
                                              usage=self.usage())))
        if f == "ollama":
            out = c.event(c.dumps(self.chunk([self.choice({"role": "assistant",
                                                           "content": ""}, reason)])))
            if c.include_usage:
                out += c.event(c.dumps(self.chunk([], usage=self.usage())))
            return out
        if f == "llamacpp":
            n = self.text_deltas + self.reasoning_deltas
            timings = {"prompt_n": c.prompt_tokens, "prompt_ms": 12.5,
                       "prompt_per_token_ms": 0.5, "prompt_per_second": 2000.0,
                       "predicted_n": n, "predicted_ms": 40.0 * n,
                       "predicted_per_token_ms": 40.0, "predicted_per_second": 25.0}
            return c.event(c.dumps(self.chunk([self.choice({}, reason)], usage=self.usage(),
                                              timings=timings)))
        # vllm, scaleway
        out = c.event(c.dumps(self.chunk([self.choice({"content": ""}, reason,
                                                      stop_reason=None)])))
        if c.include_usage:
            out += c.event(c.dumps(self.chunk([], usage=self.usage())))
        return out

    def done(self, at_eof=False):
        c = self.ctx
        head = "data: " if c.space else "data:"
        if at_eof:
            return head + "[DONE]"
        if self.f == "llamacpp":
            return head + "[DONE]" + c.eol
        return head + "[DONE]" + c.eol + c.eol

    def midstream_error(self):
        c = self.ctx
        p = c.p
        f = self.f
        code = p.str("code")
        if code is not None:
            code = int(code) if code.lstrip("-").isdigit() else (None if code == "null" else code)
        msg = p.str("message")
        if f == "openrouter":
            err = {"code": 429 if p.str("code") is None else code,
                   "message": msg or "Rate limit exceeded",
                   "metadata": {"error_type": "rate_limit_exceeded", "provider_name": "Fake"}}
            if p.str("usage") == "1":
                # As recorded from OpenRouter: the error rides in a chunk that also carries the
                # usage (tokens and cost were spent), and the stream still ends with [DONE].
                return c.event(c.dumps(self.chunk([self.choice({"content": ""}, "error")],
                                                  error=err, usage=self.usage()))) + self.done()
            return c.event(c.dumps(self.chunk([self.choice({"content": ""}, "error")],
                                              error=err)))
        if f == "llamacpp":
            err = {"code": 500 if p.str("code") is None else code,
                   "message": msg or "the model crashed while decoding", "type": "server_error"}
            if p.str("style") == "data":
                return c.event(c.dumps({"error": err}))
            return ("error: " if c.space else "error:") + c.dumps(err) + c.eol + c.eol
        if f == "vllm":
            err = {"object": "error", "message": msg or "Internal server error during decoding",
                   "type": "BadRequestError", "code": 400 if p.str("code") is None else code}
            return c.event(c.dumps({"error": err})) + self.done()
        if f == "ollama":
            err = {"message": msg or "an error was encountered while running the model: "
                                     "unexpected EOF",
                   "type": "api_error", "param": None, "code": code}
            return c.event(c.dumps({"error": err}))
        # openai, mistral, scaleway
        err = {"message": msg or "The server had an error while processing your request. "
                                 "Sorry about that!",
               "type": "server_error", "param": None, "code": code}
        return c.event(c.dumps({"error": err}))

    def completion_body(self, text, reason):
        """The non-streaming answer (stream not true, or `not-sse`)."""
        c = self.ctx
        msg = {"role": "assistant", "content": text}
        if self.f == "openrouter":
            msg["refusal"] = None
            msg["reasoning"] = None
        body = {"id": c.id, "object": "chat.completion", "created": c.created,
                "model": c.answered,
                "choices": [{"index": 0, "message": msg, "logprobs": None,
                             "finish_reason": reason}],
                "usage": self.usage()}
        if self.f == "openrouter":
            body["provider"] = "Fake"
        return c.dumps(body)


class AnthropicRenderer:
    """Anthropic Messages streams: named events, content blocks, no [DONE]."""

    STOP = {"stop": "end_turn", "length": "max_tokens", "content_filter": "refusal",
            "tool_calls": "tool_use"}

    def __init__(self, ctx):
        self.ctx = ctx
        self.block = None  # "text" | "thinking" | None
        self.index = -1
        self.text_deltas = 0
        self.reasoning_deltas = 0
        self.templates = {}

    def headers(self):
        return [("Content-Type", "text/event-stream; charset=utf-8"),
                ("Cache-Control", "no-cache"), ("request-id", new_id("req_011C", 20)),
                ("anthropic-organization-id", "00000000-0000-4000-8000-000000000000"),
                ("Server", "cloudflare")]

    def ev(self, name, obj):
        return self.ctx.event(self.ctx.dumps(obj), name)

    def preamble(self):
        c = self.ctx
        return self.ev("message_start", {"type": "message_start", "message": {
            "id": c.id, "type": "message", "role": "assistant", "model": c.answered,
            "content": [], "stop_reason": None, "stop_sequence": None,
            "usage": {"input_tokens": c.prompt_tokens, "cache_creation_input_tokens": 0,
                      "cache_read_input_tokens": 0, "output_tokens": 1,
                      "service_tier": "standard"}}})

    def keepalive(self):
        return ""

    def close_block(self):
        out = ""
        if self.block == "thinking":
            out += self.ev("content_block_delta", {
                "type": "content_block_delta", "index": self.index,
                "delta": {"type": "signature_delta", "signature": "RmFrZVNpZ25hdHVyZQ=="}})
        if self.block is not None:
            out += self.ev("content_block_stop", {"type": "content_block_stop",
                                                  "index": self.index})
        self.block = None
        return out

    def open_block(self, kind):
        out = self.close_block()
        self.index += 1
        self.block = kind
        cb = ({"type": "thinking", "thinking": "", "signature": ""} if kind == "thinking"
              else {"type": "text", "text": ""})
        out += self.ev("content_block_start", {"type": "content_block_start",
                                               "index": self.index, "content_block": cb})
        if self.index == 0:
            space = "data: " if self.ctx.space else "data:"
            out += ("event: " if self.ctx.space else "event:") + "ping" + self.ctx.eol + \
                space + '{"type": "ping"}' + self.ctx.eol + self.ctx.eol
        return out

    def delta(self, kind, text):
        c = self.ctx
        if kind == "extra":
            js = c.dumps({"type": "ping"})
            return c.event(js[:-1] + ',"x_extra":' + text + "}", "ping")
        want = "thinking" if kind == "reasoning" else "text"
        out = ""
        if self.block != want:
            out = self.open_block(want)
        if kind == "reasoning":
            self.reasoning_deltas += 1
        else:
            self.text_deltas += 1
        key = (want, self.index)
        t = self.templates.get(key)
        if t is None:
            d = ({"type": "thinking_delta", "thinking": SENTINEL} if want == "thinking"
                 else {"type": "text_delta", "text": SENTINEL})
            t = self.templates[key] = Template(c, self.ev("content_block_delta", {
                "type": "content_block_delta", "index": self.index, "delta": d}))
        return out + t.render(text)

    def finish(self, plan):
        out = ""
        if self.index < 0:
            out += self.open_block("text")
        out += self.close_block()
        out += self.ev("message_delta", {
            "type": "message_delta",
            "delta": {"stop_reason": self.STOP.get(plan.finish, plan.finish),
                      "stop_sequence": None},
            "usage": {"output_tokens": self.text_deltas + self.reasoning_deltas}})
        return out

    def done(self, at_eof=False):
        s = self.ev("message_stop", {"type": "message_stop"})
        if at_eof:
            return s[:-2 * len(self.ctx.eol)]
        return s

    def midstream_error(self):
        c = self.ctx
        return self.ev("error", {"type": "error", "error": {
            "type": c.p.str("type", "overloaded_error"),
            "message": c.p.str("message", "Overloaded")}})

    def completion_body(self, text, reason):
        c = self.ctx
        return c.dumps({"id": c.id, "type": "message", "role": "assistant",
                        "model": c.answered, "content": [{"type": "text", "text": text}],
                        "stop_reason": self.STOP.get(reason, reason), "stop_sequence": None,
                        "usage": {"input_tokens": c.prompt_tokens,
                                  "cache_creation_input_tokens": 0,
                                  "cache_read_input_tokens": 0,
                                  "output_tokens": self.text_deltas + self.reasoning_deltas,
                                  "service_tier": "standard"}})


def make_renderer(ctx):
    return AnthropicRenderer(ctx) if ctx.flavour == "anthropic" else ChatRenderer(ctx)


# --------------------------------------------------------------------------------------------
# Errors before streaming: each flavour's own body
# --------------------------------------------------------------------------------------------

ANTHROPIC_TYPES = {400: "invalid_request_error", 401: "authentication_error",
                   403: "permission_error", 404: "not_found_error", 413: "request_too_large",
                   429: "rate_limit_error", 500: "api_error", 529: "overloaded_error"}
GENERIC_MESSAGES = {400: "Invalid request", 401: "Invalid credentials",
                    402: "Insufficient credits", 403: "Forbidden", 404: "Not Found",
                    408: "Request timed out", 413: "Request too large",
                    422: "Unprocessable entity", 429: "Rate limit exceeded",
                    500: "Internal server error", 502: "Bad gateway",
                    503: "Service unavailable", 529: "Overloaded"}
NGINX_PAGE = ("<html>\r\n<head><title>{s} {r}</title></head>\r\n<body>\r\n"
              "<center><h1>{s} {r}</h1></center>\r\n<hr><center>nginx</center>\r\n"
              "</body>\r\n</html>\r\n")


def reason_phrase(status):
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return {529: "Site Overloaded"}.get(status, "Unknown")


def mask_key(key):
    """How OpenAI shows a wrong key: never the whole of it."""
    if len(key) > 10:
        return key[:3] + "*" * (len(key) - 7) + key[-4:]
    return "*" * len(key)


def default_message(flavour, status, model, why):
    """A realistic message per flavour and status.  why: None, 'missing-key', 'bad-key'."""
    m = model or "fake/hello"
    if flavour == "openrouter":
        if status == 401:
            return "No auth credentials found" if why == "missing-key" else "User not found."
        return {402: "Insufficient credits. Add more using https://openrouter.ai/settings/credits",
                403: "%s requires moderation on Fake. Your input was flagged for "
                     "\"harassment\". No credits were charged." % m,
                429: "Rate limit exceeded: limit_rpm/%s" % m,
                502: "Provider returned error",
                503: "No allowed providers are available for the selected model."}.get(
                    status, GENERIC_MESSAGES.get(status, reason_phrase(status)))
    if flavour in ("openai", "scaleway"):
        if status == 401:
            if why == "missing-key":
                return ("You didn't provide an API key. You need to provide your API key in an "
                        "Authorization header using Bearer auth (i.e. Authorization: Bearer "
                        "YOUR_KEY), or as the password field (with blank username) if you're "
                        "accessing the API from your browser and are prompted for a username "
                        "and password. You can obtain an API key from "
                        "https://platform.openai.com/account/api-keys.")
            return ("Incorrect API key provided: %s. You can find your API key at "
                    "https://platform.openai.com/account/api-keys." % mask_key(why or ""))
        return {404: "The model `%s` does not exist or you do not have access to it." % m,
                429: "Rate limit reached for %s in organization org-fake on requests per min "
                     "(RPM): Limit 3, Used 3, Requested 1. Please try again in 20s. Visit "
                     "https://platform.openai.com/account/rate-limits to learn more." % m,
                500: "The server had an error while processing your request. Sorry about that!",
                503: "The engine is currently overloaded, please try again later."}.get(
                    status, GENERIC_MESSAGES.get(status, reason_phrase(status)))
    if flavour == "anthropic":
        if status == 401:
            return "x-api-key header is required" if why == "missing-key" else "invalid x-api-key"
        return {404: "model: %s" % m,
                413: "Request exceeds the maximum allowed number of bytes.",
                429: "Number of request tokens has exceeded your per-minute rate limit "
                     "(https://docs.anthropic.com/en/api/rate-limits); see the response headers "
                     "for current usage. Please reduce the prompt length or the maximum tokens "
                     "requested, or try again later.",
                500: "Internal server error", 529: "Overloaded"}.get(
                    status, GENERIC_MESSAGES.get(status, reason_phrase(status)))
    if flavour == "mistral":
        return {401: "Unauthorized", 429: "Requests rate limit exceeded"}.get(
            status, GENERIC_MESSAGES.get(status, reason_phrase(status)))
    if flavour == "ollama" and status == 404:
        return 'model "%s" not found, try pulling it first' % m
    if flavour == "llamacpp":
        return {401: "Invalid API Key", 503: "Loading model"}.get(
            status, GENERIC_MESSAGES.get(status, reason_phrase(status)))
    if flavour == "vllm" and status == 404:
        return "The model `%s` does not exist." % m
    return GENERIC_MESSAGES.get(status, reason_phrase(status))


def error_json(flavour, status, message=None, model=None, why=None):
    """The exact JSON error body (text) a flavour sends for status."""
    msg = message if message is not None else default_message(flavour, status, model, why)
    compact = lambda o: json.dumps(o, ensure_ascii=False, separators=(",", ":"))  # noqa: E731
    if flavour == "openrouter":
        err = {"code": status, "message": msg}
        if status == 403:
            err["metadata"] = {"reasons": ["harassment"], "flagged_input": "…",
                               "provider_name": "Fake", "model_slug": model or "fake/hello"}
        elif status == 429:
            err["metadata"] = {"headers": {"X-RateLimit-Limit": "20",
                                           "X-RateLimit-Remaining": "0",
                                           "X-RateLimit-Reset": str(int(time.time() * 1000) +
                                                                    60000)}}
        elif status == 502:
            err["metadata"] = {"raw": "upstream error", "provider_name": "Fake"}
        return compact({"error": err})
    if flavour in ("openai", "scaleway"):
        etype, code = {400: ("invalid_request_error", None),
                       401: ("invalid_request_error", "invalid_api_key"),
                       403: ("request_forbidden", "unsupported_country_region_territory"),
                       404: ("invalid_request_error", "model_not_found"),
                       429: ("requests", "rate_limit_exceeded")}.get(
                           status, ("server_error" if status >= 500 else "invalid_request_error",
                                    None))
        if why == "missing-key":
            code = None
        body = {"error": {"message": msg, "type": etype, "param": None, "code": code}}
        if flavour == "openai":  # OpenAI pretty-prints its error bodies
            return json.dumps(body, ensure_ascii=False, indent=4) + "\n"
        return compact(body)
    if flavour == "anthropic":
        etype = ANTHROPIC_TYPES.get(status, "api_error" if status >= 500
                                    else "invalid_request_error")
        return compact({"type": "error", "error": {"type": etype, "message": msg},
                        "request_id": new_id("req_011C", 20)})
    if flavour == "mistral":
        if status == 422 and message is None:
            msg = {"detail": [{"type": "missing", "loc": ["body", "messages"],
                               "msg": "Field required", "input": {"model": model}}]}
        etype = {401: "invalid_request_error", 422: "invalid_request_error",
                 429: "rate_limited"}.get(status, "internal_server_error" if status >= 500
                                          else "invalid_request_error")
        code = {429: "1300", 500: "3000"}.get(status)
        return compact({"object": "error", "message": msg, "type": etype, "param": None,
                        "code": code})
    if flavour == "ollama":
        etype = {400: "invalid_request_error", 404: "not_found_error"}.get(status, "api_error")
        return compact({"error": {"message": msg, "type": etype, "param": None, "code": None}})
    if flavour == "llamacpp":
        etype = {400: "invalid_request_error", 401: "authentication_error",
                 403: "permission_error", 404: "not_found_error", 501: "not_supported_error",
                 503: "unavailable_error"}.get(status, "server_error")
        return compact({"error": {"code": status, "message": msg, "type": etype}})
    if flavour == "vllm":
        if status == 401 and message is None:
            return compact({"error": "Unauthorized"})
        etype = {400: "BadRequestError", 404: "NotFoundError", 429: "TooManyRequestsError"}.get(
            status, "InternalServerError" if status >= 500 else "BadRequestError")
        return compact({"object": "error", "message": msg, "type": etype, "param": None,
                        "code": status})
    return compact({"error": {"code": status, "message": msg}})


# --------------------------------------------------------------------------------------------
# Model list, key info
# --------------------------------------------------------------------------------------------

MODELS = [
    ("fake/hello", "Fake: Hello", 200000, "0.000003", "0.000015"),
    ("fake/echo", "Fake: Echo", 200000, "0.000003", "0.000015"),
    ("fake/priced", "Fake: Priced", 200000, "0.000003", "0.000015"),
    ("fake/free", "Fake: Free", 200000, "0", "0"),
    ("fake/small-context", "Fake: Small context", 2000, "0.000003", "0.000015"),
    ("fake/demo", "Fake: Demo", 200000, "0.000003", "0.000015"),
    ("fake/essay", "Fake: Essay", 200000, "0.000003", "0.000015"),
    ("anthropic/claude-sonnet-4", "Anthropic: Claude Sonnet 4", 200000, "0.000003",
     "0.000015"),
    ("openai/gpt-4o", "OpenAI: GPT-4o", 128000, "0.0000025", "0.00001"),
    ("mistralai/mistral-medium-3", "Mistral: Mistral Medium 3", 131072, "0.0000004",
     "0.000002"),
]
MODELS_CREATED = 1735689600  # 2025-01-01

# GET /activity: the management keys, and the everyday use it reports (model, permaslug,
# provider, USD per prompt and completion token, requests on a busy day).
MGMT_KEY_PREFIX = "mgmt-"
ACTIVITY_MODELS = [
    ("anthropic/claude-sonnet-4", "anthropic/claude-4-sonnet-20250522", "Anthropic", 3e-6,
     15e-6, 9),
    ("openai/gpt-4o", "openai/gpt-4o-2024-08-06", "OpenAI", 2.5e-6, 10e-6, 5),
    ("mistralai/mistral-medium-3", "mistralai/mistral-medium-3", "Mistral", 0.4e-6, 2e-6, 4),
]


def activity_days(now):
    """The last 30 completed UTC days, newest first, as YYYY-MM-DD."""
    today = int(now // 86400)
    return [time.strftime("%Y-%m-%d", time.gmtime((today - i) * 86400)) for i in range(1, 31)]


def activity_rows(days, own, extra):
    rows = []
    for day in days:
        weekday = time.strptime(day, "%Y-%m-%d").tm_wday  # 5, 6: the weekend
        for k, (model, slug, provider, pin, pout, busy) in enumerate(ACTIVITY_MODELS):
            h = int.from_bytes(hashlib.sha256(("%s|%s" % (day, model)).encode()).digest()[:8],
                               "big")
            n = h % (busy + 1)
            if weekday >= 5:
                n //= 3
            if n == 0:
                continue
            prompt = n * (1500 + (h >> 8) % 2500)
            completion = n * (200 + (h >> 20) % 700)
            reasoning = completion // 4 if k == 0 else 0
            rows.append({"date": day, "model": model, "model_permaslug": slug,
                         "endpoint_id": "ep-%s" % hashlib.sha256(slug.encode()).hexdigest()[:12],
                         "provider_name": provider,
                         "usage": round(prompt * pin + completion * pout, 9),
                         "byok_usage_inference": 0, "requests": n, "prompt_tokens": prompt,
                         "completion_tokens": completion, "reasoning_tokens": reasoning})
        mine = {}
        for created, model, answered, p, n, cost in own:
            if time.strftime("%Y-%m-%d", time.gmtime(created)) != day:
                continue
            r = mine.setdefault(answered, {
                "date": day, "model": model, "model_permaslug": answered,
                "endpoint_id": "ep-fake-%s" % answered, "provider_name": "Fake", "usage": 0.0,
                "byok_usage_inference": 0, "requests": 0, "prompt_tokens": 0,
                "completion_tokens": 0, "reasoning_tokens": 0})
            r["requests"] += 1
            r["prompt_tokens"] += p
            r["completion_tokens"] += n
            r["usage"] = round(r["usage"] + (cost or 0), 9)
        rows.extend(mine.values())
    rows.extend(extra)
    return rows


KEY_INFO = {"data": {"label": "sk-or-v1-abc...xyz", "limit": 10, "limit_remaining": 7.5,
                     "usage": 2.5, "usage_daily": 0.1, "usage_weekly": 0.6,
                     "usage_monthly": 2.5, "is_free_tier": False}}


def models_body(flavour):
    if flavour == "openrouter":
        data = []
        for mid, name, ctx, pin, pout in MODELS:
            data.append({
                "id": mid, "canonical_slug": mid, "name": name, "created": MODELS_CREATED,
                "description": "%s, served by the fake provider." % name,
                "context_length": ctx,
                "architecture": {"modality": "text->text", "input_modalities": ["text"],
                                 "output_modalities": ["text"], "tokenizer": "Other",
                                 "instruct_type": None},
                "pricing": {"prompt": pin, "completion": pout, "request": "0", "image": "0",
                            "web_search": "0", "internal_reasoning": "0"},
                "top_provider": {"context_length": ctx, "max_completion_tokens": 16384,
                                 "is_moderated": False},
                "per_request_limits": None,
                "supported_parameters": ["max_tokens", "temperature", "stop", "reasoning"]})
        return {"data": data}
    if flavour == "anthropic":
        return {"data": [{"type": "model", "id": m[0], "display_name": m[1],
                          "created_at": "2025-01-01T00:00:00Z"} for m in MODELS],
                "has_more": False, "first_id": MODELS[0][0], "last_id": MODELS[-1][0]}
    owner = {"openai": "openai", "mistral": "mistralai", "ollama": "library",
             "llamacpp": "llamacpp", "vllm": "vllm", "scaleway": "scaleway"}[flavour]
    return {"object": "list", "data": [{"id": m[0], "object": "model",
                                        "created": MODELS_CREATED, "owned_by": owner}
                                       for m in MODELS]}


# --------------------------------------------------------------------------------------------
# HTTP
# --------------------------------------------------------------------------------------------


class ClientGone(Exception):
    """The client closed the connection before the response finished."""


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, addr, handler, log_path, tls_context, log_first_byte=False):
        self.tls_context = tls_context
        self.log_first_byte = log_first_byte
        self.log_lock = threading.Lock()
        self.log_fd = (os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                       if log_path else None)
        self.state_lock = threading.Lock()
        self.error_counts = {}
        self.generations = {}
        self.own_answers = []  # (created, model, answered, prompt, completion, cost): activity
        self.extra_activity = []  # --activity FILE
        self.errors_reported = 0
        super().__init__(addr, handler)

    def log(self, record):
        if self.log_fd is None:
            return
        line = (json.dumps(record, ensure_ascii=True) + "\n").encode("ascii")
        with self.log_lock:
            view = memoryview(line)
            while view:
                view = view[os.write(self.log_fd, view):]

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (OSError, ClientGone)):  # resets, TLS handshakes refused…
            return
        self.report(exc)

    def report(self, exc):
        # stderr is a pipe nobody reads while the server runs: stay short.
        with self.state_lock:
            self.errors_reported += 1
            if self.errors_reported > 20:
                return
        sys.stderr.write("fake_provider: internal error: %r\n" % (exc,))
        sys.stderr.flush()


class BodyWriter:
    """Writes the SSE text of a response: coalesced into large HTTP chunks until a pause
    (or every `piece` bytes, each its own chunk and socket write, with chunk=N)."""

    BLOCK = 65536

    def __init__(self, handler, chunked, piece):
        self.h = handler
        self.chunked = chunked
        self.piece = piece
        self.buf = []
        self.size = 0

    def add(self, text):
        if text:
            b = text.encode("utf-8", "surrogateescape")
            self.buf.append(b)
            self.size += len(b)
            if self.size >= self.BLOCK:
                self.flush()

    def flush(self):
        if not self.size:
            return
        data = b"".join(self.buf)
        self.buf, self.size = [], 0
        step = self.piece or 4 * self.BLOCK
        for i in range(0, len(data), step):
            self.write_piece(data[i:i + step])

    def write_piece(self, part):
        first = self.h.server.log_first_byte and not self.h.body_started
        self.h.body_started = True
        t = time.monotonic_ns() if first else 0
        if self.chunked:
            self.h.send(b"%x\r\n" % len(part) + part + b"\r\n")
        else:
            self.h.send(part)
        if first:  # logged after the write, so that logging never delays the first byte
            self.h.server.log({"t": time.time(), "event": "first_byte", "path": self.h.path,
                               "model": self.h.model, "monotonic_ns": t})

    def pause(self, secs):
        if secs > 0:
            self.flush()
            self.h.pause(secs)

    def end(self):
        self.flush()
        if self.chunked:
            self.h.send(b"0\r\n\r\n")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-provider"
    timeout = 600

    def setup(self):
        tls = self.server.tls_context
        if tls is not None:
            self.request.settimeout(10)
            self.request = tls.wrap_socket(self.request, server_side=True)
        super().setup()
        try:
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass

    def log_message(self, format, *args):  # noqa: A002 - quiet: stderr is an unread pipe
        pass

    def do_GET(self):
        self.serve("GET")

    def do_POST(self):
        self.serve("POST")

    def do_PUT(self):
        self.serve("PUT")

    def do_DELETE(self):
        self.serve("DELETE")

    def do_PATCH(self):
        self.serve("PATCH")

    # ---- reading

    def read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            out = []
            while True:
                line = self.rfile.readline(65537)
                if not line:
                    break
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                out.append(self.rfile.read(size))
                self.rfile.readline(65537)
            return b"".join(out)
        try:
            n = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            n = 0
        return self.rfile.read(n) if n > 0 else b""

    def header_dict(self):
        out = {}
        for k, v in self.headers.items():
            k = k.lower()
            out[k] = out[k] + ", " + v if k in out else v
        return out

    # ---- writing

    def send(self, b):
        try:
            self.connection.sendall(b)
        except (OSError, ValueError):
            raise ClientGone() from None
        self.sent += len(b)

    def start(self, status, headers, chunked=False, length=None, close=False):
        lines = ["HTTP/1.1 %d %s" % (status, reason_phrase(status)),
                 "Date: " + email.utils.formatdate(usegmt=True)]
        lines += ["%s: %s" % kv for kv in headers]
        if chunked:
            lines.append("Transfer-Encoding: chunked")
        elif length is not None:
            lines.append("Content-Length: %d" % length)
        if close or self.close_connection:
            self.close_connection = True
            lines.append("Connection: close")
        else:
            lines.append("Connection: keep-alive")
        self.started = True
        self.send(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))

    def reply(self, status, body, content_type="application/json", headers=(), close=False):
        b = body.encode("utf-8", "surrogateescape") if isinstance(body, str) else body
        self.start(status, [("Content-Type", content_type)] + list(headers), length=len(b),
                   close=close)
        self.send(b)

    def reply_error(self, flavour, status, message=None, why=None, headers=()):
        self.reply(status, error_json(flavour, status, message, self.model, why),
                   headers=headers)

    # ---- waiting while watching the client

    def peer_closed(self):
        try:
            data = socket.socket.recv(self.connection, 1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        except (BlockingIOError, InterruptedError, socket.timeout):
            return False
        except OSError:
            return True
        if not data:
            return True
        # A TLS client that goes away first sends a close_notify alert record.
        return self.server.tls_context is not None and data == b"\x15"

    def pause(self, secs):
        """Sleeps secs, but raises ClientGone as soon as the client closes."""
        if secs <= 0:
            return
        end = time.monotonic() + secs
        poller = select.poll()
        poller.register(self.connection.fileno(), select.POLLIN | select.POLLPRI |
                        getattr(select, "POLLRDHUP", 0))
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return
            if poller.poll(min(left, 1.0) * 1000):
                if self.peer_closed():
                    raise ClientGone()
                time.sleep(min(left, 0.01))  # unread bytes (a pipelined request): keep watching

    # ---- one request

    def serve(self, method):
        self.sent = 0
        self.started = False
        self.body_started = False
        self.model = None
        self.renderer = None
        body = self.read_body()
        parsed = None
        if body:
            try:
                parsed = json.loads(body)
            except ValueError:
                parsed = body.decode("utf-8", "replace")
        self.server.log({"t": time.time(), "method": method, "path": self.path,
                         "headers": self.header_dict(), "body": parsed})
        self.t0 = time.monotonic()
        try:
            self.route(method, parsed, body)
        except ClientGone:
            self.close_connection = True
            self.server.log({"t": time.time(), "event": "disconnect",
                             "path": self.path, "model": self.model, "sent_bytes": self.sent})
            self.record_generation(None, cancelled=True)
        except Exception as exc:  # noqa: BLE001 - report, never hang the client
            self.server.report(exc)
            self.close_connection = True
            if not self.started:
                try:
                    self.reply(500, '{"error":{"code":500,"message":"fake provider bug: %s"}}'
                               % type(exc).__name__, close=True)
                except ClientGone:
                    pass

    def credentials(self, flavour):
        if flavour == "anthropic":
            return self.headers.get("x-api-key") or None
        m = re.match(r"\s*bearer\s+(.*)$", self.headers.get("Authorization", ""), re.I | re.S)
        return (m.group(1).strip() if m else "") or None

    def check_auth(self, flavour):
        """Sends the flavour's 401/400 and returns False when the request is refused."""
        key = self.credentials(flavour)
        if flavour in NEEDS_KEY and key is None:
            self.reply_error(flavour, 401, why="missing-key")
            return False
        if key == BAD_KEY and flavour != "ollama":
            self.reply_error(flavour, 401, why=key)
            return False
        if flavour == "anthropic" and not self.headers.get("anthropic-version"):
            self.reply_error(flavour, 400, "anthropic-version: header is required")
            return False
        return True

    def route(self, method, req, body):
        url = urllib.parse.urlsplit(self.path)
        parts = url.path.split("/")
        flavour = parts[1] if len(parts) > 1 and parts[1] in FLAVOURS else None
        rest = "/".join(parts[3:]) if flavour and len(parts) > 3 and parts[2] == "v1" else None
        if flavour is None or rest is None:
            return self.reply_error(flavour or "openrouter", 404,
                                    "Not Found: %s %s" % (method, url.path))
        if method == "POST" and ((rest == "chat/completions" and flavour != "anthropic") or
                                 (rest == "messages" and flavour == "anthropic")):
            return self.chat(flavour, req)
        if method == "GET" and rest == "models":
            if flavour != "openrouter" and not self.check_auth(flavour):
                return None
            return self.reply(200, json.dumps(models_body(flavour), separators=(",", ":")))
        if method == "GET" and flavour == "openrouter" and rest in ("key", "auth/key"):
            if self.check_auth(flavour):
                self.reply(200, json.dumps(KEY_INFO, separators=(",", ":")))
            return None
        if method == "GET" and flavour == "openrouter" and rest == "activity":
            if self.check_auth(flavour):
                self.activity(urllib.parse.parse_qs(url.query).get("date", [None])[0])
            return None
        if method == "GET" and flavour == "openrouter" and rest == "generation":
            if self.check_auth(flavour):
                self.generation(urllib.parse.parse_qs(url.query).get("id", [""])[0])
            return None
        if flavour == "openai":
            msg = "Invalid URL (%s %s)" % (method, url.path[len("/openai"):])
        else:
            msg = None
        return self.reply_error(flavour, 404, msg)

    def activity(self, date):
        key = self.credentials("openrouter") or ""
        if not key.startswith(MGMT_KEY_PREFIX):
            return self.reply(403, json.dumps(
                {"error": {"code": 403, "message": "Only management keys can fetch activity",
                           "metadata": None}, "user_id": None}, separators=(",", ":")))
        days = activity_days(time.time())
        if date is not None and date not in days:
            return self.reply(400, json.dumps(
                {"error": {"code": 400, "message": "Invalid date format or date range",
                           "metadata": None}, "user_id": None}, separators=(",", ":")))
        with self.server.state_lock:
            own = list(self.server.own_answers)
        rows = activity_rows(days, own, self.server.extra_activity)
        if date is not None:
            rows = [r for r in rows if r["date"] == date]
        return self.reply(200, json.dumps({"data": rows}, separators=(",", ":")))

    def generation(self, gen_id):
        if not gen_id:
            return self.reply_error("openrouter", 400, "id is required")
        with self.server.state_lock:
            rec = self.server.generations.get(gen_id)
        if rec is None:
            return self.reply(404, '{"error":{"code":404,"message":"Generation not found"}}')
        return self.reply(200, json.dumps({"data": rec}, separators=(",", ":")))

    def record_generation(self, finish, cancelled=False):
        r = self.renderer
        if r is None or r.ctx.flavour != "openrouter":
            return
        c = r.ctx
        p, n = c.prompt_tokens, r.text_deltas + r.reasoning_deltas
        cost = c.cost(p, n)
        ms = int((time.monotonic() - self.t0) * 1000)
        rec = {"id": c.id, "upstream_id": None, "total_cost": cost, "cache_discount": None,
               "upstream_inference_cost": None,
               "created_at": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(c.created)),
               "model": c.answered, "app_id": None, "streamed": True, "cancelled": cancelled,
               "provider_name": "Fake", "latency": ms, "moderation_latency": None,
               "generation_time": ms, "finish_reason": finish, "native_finish_reason": finish,
               "tokens_prompt": p, "tokens_completion": n, "native_tokens_prompt": p,
               "native_tokens_completion": n, "native_tokens_reasoning": r.reasoning_deltas,
               "num_media_prompt": None, "num_media_completion": None,
               "num_search_results": None, "origin": "", "usage": cost, "is_byok": False}
        with self.server.state_lock:
            self.server.generations[c.id] = rec
            self.server.own_answers.append((c.created, c.answered[:-len(MODEL_SUFFIX)],
                                            c.answered, p, n, cost))
        self.renderer = None

    # ---- chat completions / messages

    def chat(self, flavour, req):
        if isinstance(req, dict) and isinstance(req.get("model"), str) and req["model"]:
            self.model = req["model"]
        if self.model is not None and parse_model(self.model)[0] == "key-echo":
            key = self.credentials(flavour) or ""
            return self.reply_error(flavour, 401, "Invalid API key provided: %s" % key)
        if not self.check_auth(flavour):
            return None
        if not isinstance(req, dict):
            return self.reply_error(flavour, 400, "Request body is not valid JSON")
        if self.model is None:
            return self.reply_error(flavour, 400, "model: Field required"
                                    if flavour == "anthropic" else "No model specified")
        if not isinstance(req.get("messages"), list):
            if flavour == "mistral":
                return self.reply_error(flavour, 422)
            return self.reply_error(flavour, 400, "messages: Field required")
        if flavour == "anthropic" and not isinstance(req.get("max_tokens"), int):
            return self.reply_error(flavour, 400, "max_tokens: Field required")
        # OpenRouter's provider routing: a :free model's providers may train on prompts, so
        # with data_collection "deny" (or zdr) no endpoint is left to serve it.
        routing = req.get("provider") if isinstance(req.get("provider"), dict) else {}
        if flavour == "openrouter" and self.model.split("?")[0].endswith(":free"):
            if routing.get("data_collection") == "deny":
                return self.reply_error(flavour, 404, "No endpoints found matching your data "
                                        "policy (Free model training). Configure: "
                                        "https://openrouter.ai/settings/privacy")
            if routing.get("zdr") is True:
                return self.reply_error(flavour, 404, "No endpoints found matching your data "
                                        "policy (Zero data retention). Configure: "
                                        "https://openrouter.ai/settings/privacy")
        scen, p, base = parse_model(self.model)
        if scen == "http-error" and self.http_error(flavour, p):
            return None
        ctx = Ctx(flavour, req, self.model, scen, p, sanitize(base))
        if scen == "not-sse":
            r = make_renderer(ctx)
            r.text_deltas = len(HELLO)
            self.pause(p.int("delay_ms", 0) / 1000)
            return self.reply(200, r.completion_body("".join(HELLO), "stop"))
        plan = make_plan(scen, p, req)
        if req.get("stream") is not True:
            return self.complete(ctx, plan)
        return self.stream(ctx, plan)

    def http_error(self, flavour, p):
        status, times = p.int("status", 429), p.int("times", 1)
        key = (flavour, self.model)
        with self.server.state_lock:
            n = self.server.error_counts.get(key, 0)
            fail = times < 0 or n < times
            if fail:
                self.server.error_counts[key] = n + 1
        if not fail:
            return False
        self.pause(p.int("delay_ms", 0) / 1000)
        headers = []
        if p.has("retry_after"):
            headers.append(("Retry-After", p.str("retry_after")))
        if p.has("retry_after_ms"):
            headers.append(("retry-after-ms", p.str("retry_after_ms")))
        kind = p.str("body", "json")
        if kind == "none":
            self.reply(status, b"", "application/json", headers)
        elif kind == "html":
            page = NGINX_PAGE.format(s=status, r=reason_phrase(status))
            self.reply(status, page, "text/html", headers + [("Server", "nginx")])
        elif kind == "text":
            self.reply(status, "%d %s\n" % (status, reason_phrase(status)),
                       "text/plain; charset=utf-8", headers)
        else:
            self.reply(status, error_json(flavour, status, p.str("message"), self.model),
                       "application/json", headers)
        return True

    def complete(self, ctx, plan):
        """stream is not true: one JSON answer with the scenario's text (at most 100000
        deltas; the stream-only endings are ignored)."""
        r = self.renderer = make_renderer(ctx)
        texts = []
        for i, (kind, text) in enumerate(plan.deltas):
            if i >= 100000:
                break
            if kind == "text":
                r.text_deltas += 1
                texts.append(text)
            elif kind == "reasoning":
                r.reasoning_deltas += 1
        self.pause(ctx.p.int("delay_ms", 0) / 1000)
        self.reply(200, r.completion_body("".join(texts), plan.finish))
        self.record_generation(plan.finish)

    def stream(self, ctx, plan):
        p = ctx.p
        r = self.renderer = make_renderer(ctx)
        self.pause(p.int("delay_ms", 0) / 1000)
        chunked = p.str("framing", "chunked") != "close" and self.request_version != "HTTP/1.0"
        close = not chunked or plan.end in ("no-finish", "done-at-eof", "drop",
                                            "midstream-error")
        self.start(200, r.headers(), chunked=chunked, close=close)
        w = BodyWriter(self, chunked, max(0, p.int("chunk", 0)))
        gap = p.int("gap_ms", 0) / 1000
        delta_gap = gap if p.has("gap_ms") else (0.005 if ctx.scen == "endless" else plan.pace)
        ttft = p.int("ttft_ms", 0) / 1000
        keepalive = p.int("keepalive_ms", 0) / 1000

        w.add(("\ufeff" if ctx.bom else "") + r.preamble())
        # tick_ms: pace on a clock (delta n due at first + n * gap), one write per tick.
        tick = p.int("tick_ms", 0) / 1000 if delta_gap > 0 and not p.has("gap_ms") else 0
        n = 0
        first = last_write = 0.0
        for kind, text in plan.deltas:
            if n == 0 and ttft > 0:
                left = ttft
                while keepalive > 0 and left > keepalive:
                    w.pause(keepalive)
                    w.add(r.keepalive())
                    left -= keepalive
                w.pause(left)
            elif n > 0 and tick > 0:
                now = time.monotonic()
                ahead = first + n * delta_gap - now
                if ahead >= tick:
                    w.pause(ahead)
                    last_write = time.monotonic()
                elif now - last_write >= tick:
                    w.flush()
                    last_write = now
            elif n > 0 and delta_gap > 0:
                w.pause(delta_gap)
            if n == 0:
                first = last_write = time.monotonic()
            w.add(r.delta(kind, text))
            n += 1
        if n == 0 and ttft > 0:
            w.pause(ttft)

        if plan.end == "no-finish":
            w.end()
            return self.record_generation(None)
        if plan.end == "drop":
            w.flush()
            ev = r.delta("text", "%d " % (n + 1)).encode("utf-8", "surrogateescape")
            head = b"%x\r\n" % len(ev) if chunked else b""
            self.send(head + ev[:len(ev) // 2])
            if p.str("rst") == "1":
                # Linger 0 then close now: a reset, with no FIN first.  detach() so that the
                # handler's later shutdown/close find a closed socket, never a reused fd.
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           struct.pack("ii", 1, 0))
                os.close(self.connection.detach())
            else:
                self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            return self.record_generation(None)
        if plan.end == "midstream-error":
            w.pause(gap)
            w.add(r.midstream_error())
            w.end()
            return self.record_generation("error")
        if plan.end == "silence":
            w.pause(p.float("secs", 60))
        w.pause(gap)
        w.add(r.finish(plan))
        w.pause(gap)
        w.add(r.done(at_eof=plan.end == "done-at-eof"))
        w.end()
        self.record_generation(plan.finish)


# --------------------------------------------------------------------------------------------
# Start-up
# --------------------------------------------------------------------------------------------


def make_tls_context(cert_out):
    """A self-signed certificate for 127.0.0.1, made now with the openssl command."""
    d = tempfile.mkdtemp(prefix="fake-provider-tls-")
    try:
        key, cert = os.path.join(d, "key.pem"), os.path.join(d, "cert.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec",
                        "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                        "-keyout", key, "-out", cert, "-days", "2",
                        "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                       check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, timeout=60)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        ctx.set_alpn_protocols(["http/1.1"])
        if cert_out:
            shutil.copyfile(cert, cert_out)
        return ctx
    finally:
        shutil.rmtree(d, ignore_errors=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description="Scripted fake LLM provider (see the module "
                                             "docstring).")
    ap.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free one)")
    ap.add_argument("--log", help="append one JSON line per request (and disconnect) here")
    ap.add_argument("--tls", action="store_true", help="serve HTTPS, self-signed certificate")
    ap.add_argument("--tls-cert", help="with --tls: also write the certificate (PEM) here")
    ap.add_argument("--log-first-byte", action="store_true",
                    help="also log when each streamed body's first byte was written")
    ap.add_argument("--activity", help="a JSON list of rows GET /activity serves too")
    args = ap.parse_args(argv)
    try:
        tls = make_tls_context(args.tls_cert) if args.tls else None
    except (OSError, subprocess.SubprocessError, ssl.SSLError) as e:
        sys.stderr.write("fake_provider: cannot make a TLS certificate: %s\n" % e)
        return 1
    server = Server(("127.0.0.1", args.port), Handler, args.log, tls, args.log_first_byte)
    if args.activity:
        with open(args.activity, encoding="utf-8") as f:
            server.extra_activity = json.load(f)

    def stop(signum, frame):
        # Exit at once, connections open or not, but never in the middle of a log line.
        server.log_lock.acquire(timeout=1.0)
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    sys.stdout.write("PORT %d\n" % server.server_address[1])
    sys.stdout.flush()
    server.serve_forever(poll_interval=0.5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
