// What a new function starts from (one template per kind, with a handler for every event
// type) and the sample events and requests of the Test tab.

const EVENT_TYPES = ["track", "identify", "page", "screen", "group", "alias", "delete"];

const destinationHandlers = EVENT_TYPES.map(
  (type) => `async def on_${type}(event, settings):\n    await send(event, settings)\n`,
).join("\n\n");

const insertHandlers = EVENT_TYPES.map(
  (type) => `def on_${type}(event, settings):\n    return enrich(event, settings)\n`,
).join("\n\n");

export const TEMPLATES = {
  DESTINATION: {
    code: `# A destination function: headrace calls the handler of each event's type.
# Send the event on with fetch; raise RetryError when a later attempt may succeed.


${destinationHandlers}

# To receive events in batches (up to the destination's batch size), define
# async def on_batch(events, settings) returning one {"status": ...} per event.


async def send(event, settings):
    try:
        response = await fetch(
            settings["url"],
            method="POST",
            headers={"Content-Type": "application/json"},
            json=event,
        )
    except FetchError as error:
        raise RetryError(f"could not reach {settings['url']}: {error}") from error
    if response.status == 429 or response.status >= 500:
        raise RetryError(f"{settings['url']} answered {response.status}")
    if not response.ok:
        raise ValidationError(f"{settings['url']} answered {response.status}: {await response.text()}")
    console.log(f"{event['type']} {event.get('messageId', '')} sent: {response.status}")
`,
    settings: [
      {
        name: "url",
        label: "Endpoint URL",
        description: "Where each event is POSTed as JSON.",
        type: "STRING",
        required: true,
        sensitive: false,
      },
    ],
  },
  INSERT_DESTINATION: {
    code: `# An insert function: it runs before the destination, after its filters.
# Return the event to pass on (changed or not); return None or raise DropEvent to drop it.


${insertHandlers}

def enrich(event, settings):
    if event.get("userId") in settings.get("blockedUsers", []):
        raise DropEvent("blocked user")
    event.setdefault("context", {})["enrichedBy"] = "headrace"
    return event
`,
    settings: [
      {
        name: "blockedUsers",
        label: "Blocked users",
        description: "User ids whose events are dropped.",
        type: "ARRAY",
        required: false,
        sensitive: false,
      },
    ],
  },
  SOURCE: {
    code: `# A source function: turn each request on the source's webhook URL into events.
# The request body is one event or a list of them, each with a Segment "type".

EMITTERS = {
    "track": lambda event: Segment.track(event),
    "identify": lambda event: Segment.identify(event),
    "page": lambda event: Segment.page(event),
    "screen": lambda event: Segment.screen(event),
    "group": lambda event: Segment.group(event),
    "alias": lambda event: Segment.alias(event),
}


async def on_request(request, settings):
    body = request.json()
    events = body if isinstance(body, list) else [body]
    for event in events:
        emit = EMITTERS.get(event.get("type", "track"))
        if emit is None:
            raise InvalidEventPayload(f"unknown event type {event.get('type')!r}")
        emit(event)
    console.log(f"{len(events)} event(s) from {request.headers.get('user-agent', 'unknown')}")
`,
    settings: [],
  },
};

const base = {
  messageId: "test-message-1",
  anonymousId: "anon-42",
  userId: "user-1",
  timestamp: "2026-01-01T12:00:00.000Z",
  context: { ip: "203.0.113.7", library: { name: "analytics.js", version: "2.11.1" } },
};

export const SAMPLE_EVENTS = {
  track: { ...base, type: "track", event: "Order Completed", properties: { orderId: "o-1001", revenue: 42.5, currency: "USD" } },
  identify: { ...base, type: "identify", traits: { email: "ada@example.com", name: "Ada Lovelace", plan: "pro" } },
  page: { ...base, type: "page", name: "Pricing", properties: { path: "/pricing", url: "https://example.com/pricing" } },
  screen: { ...base, type: "screen", name: "Home", properties: { variant: "a" } },
  group: { ...base, type: "group", groupId: "acme", traits: { name: "Acme Inc", employees: 120 } },
  alias: { ...base, type: "alias", previousId: "anon-42" },
  delete: { ...base, type: "delete" },
};

export const SAMPLE_REQUEST = {
  headers: { "content-type": "application/json", "user-agent": "example-webhook/1.0" },
  queryParameters: {},
  body: { type: "track", userId: "user-1", event: "Invoice Paid", properties: { amount: 120 } },
};

export function sampleFor(kind, type = "track") {
  if (kind === "SOURCE") return SAMPLE_REQUEST;
  if (type === "batch") return [SAMPLE_EVENTS.track, SAMPLE_EVENTS.identify];
  return SAMPLE_EVENTS[type] || SAMPLE_EVENTS.track;
}

export const SAMPLE_TYPES = [...EVENT_TYPES, "batch"];
