package livepost

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// MaxStreamMessage is the largest streaming API message accepted.
const MaxStreamMessage = 1 << 20

// StreamEvent is one event of the Mastodon streaming API
// ({"stream":["user"],"event":"update","payload":"<JSON status>"}).
type StreamEvent struct {
	// Event is "update", "status.update" or "delete".
	Event string
	// Status is the JSON of the status (update and status.update).
	Status []byte
	// ID is the deleted status's id (delete).
	ID string
}

// ParseStreamMessage decodes one streaming API message. Events other than
// update, status.update and delete return ok=false and no error.
func ParseStreamMessage(b []byte) (ev StreamEvent, ok bool, err error) {
	if len(b) > MaxStreamMessage {
		return StreamEvent{}, false, fmt.Errorf("streaming message: %d bytes is more than %d", len(b), MaxStreamMessage)
	}
	var m struct {
		Event   string          `json:"event"`
		Payload json.RawMessage `json:"payload"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return StreamEvent{}, false, fmt.Errorf("streaming message: %w", err)
	}
	switch m.Event {
	case "update", "status.update":
		var inner string
		if err := json.Unmarshal(m.Payload, &inner); err != nil {
			return StreamEvent{}, false, fmt.Errorf("streaming %s: payload is not a string: %w", m.Event, err)
		}
		if !json.Valid([]byte(inner)) || !strings.HasPrefix(strings.TrimSpace(inner), "{") {
			return StreamEvent{}, false, fmt.Errorf("streaming %s: payload is not a JSON object", m.Event)
		}
		return StreamEvent{Event: m.Event, Status: []byte(inner)}, true, nil
	case "delete":
		var id string
		if json.Unmarshal(m.Payload, &id) != nil {
			var n json.Number
			if err := json.Unmarshal(m.Payload, &n); err != nil {
				return StreamEvent{}, false, fmt.Errorf("streaming delete: %w", err)
			}
			id = n.String()
		}
		id = strings.TrimSpace(id)
		if id == "" || len(id) > 128 {
			return StreamEvent{}, false, errors.New("streaming delete: bad id")
		}
		return StreamEvent{Event: "delete", ID: id}, true, nil
	}
	return StreamEvent{}, false, nil
}
