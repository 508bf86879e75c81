package emulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/seabridge/seabridge/internal/streamsea"
)

// publication is one accepted publish: a single object or a batch, with the delivery frames
// built from it. Frames are encoded once per (subscription id, stream) and shared by every
// connection whose subscription has that id; filtered deliveries are encoded per member.
// A publication is used by one goroutine.
type publication struct {
	stream *stream
	raw    json.RawMessage   // the payload as published: an object or an array of objects
	elems  []json.RawMessage // the batch elements; nil for a single object

	decoded []any // elements decoded for filters, lazily
	decErr  []error
	ids     []uint64 // frame cache: ids[i] -> frames[i]
	frames  [][]byte
}

// parsePayload splits a payload into its elements: it must be an object or an array of
// objects. The returned slice is nil for a single object; elements are sub-slices of raw.
func parsePayload(raw json.RawMessage) ([]json.RawMessage, error) {
	parts, err := streamsea.SplitPayload(raw)
	if err != nil {
		return nil, fmt.Errorf("payload: must be an object or an array of objects: %w", err)
	}
	if firstByte(raw) == '{' {
		return nil, nil
	}
	elems := make([]json.RawMessage, len(parts))
	for i, e := range parts {
		if firstByte(e) != '{' {
			return nil, fmt.Errorf("payload[%d]: must be an object", i)
		}
		elems[i] = e
	}
	return elems, nil
}

func firstByte(b []byte) byte {
	b = bytes.TrimLeft(b, " \t\r\n")
	if len(b) == 0 {
		return 0
	}
	return b[0]
}

// count is the number of messages in the publication.
func (p *publication) count() int {
	if p.elems == nil {
		return 1
	}
	return len(p.elems)
}

// elements returns the messages of the publication, one per element.
func (p *publication) elements() []json.RawMessage {
	if p.elems == nil {
		return []json.RawMessage{p.raw}
	}
	return p.elems
}

// frameFor returns the delivery frame for a subscription and the number of messages in it;
// zero when the subscription's filter lets nothing through.
func (p *publication) frameFor(sub *subscription) ([]byte, int) {
	if sub.filter == nil {
		return p.cachedFrame(sub), p.count()
	}
	elems := p.elements()
	pass := make([]bool, len(elems))
	n := 0
	for i := range elems {
		if p.passes(sub, i) {
			pass[i] = true
			n++
		}
	}
	switch {
	case n == 0:
		return nil, 0
	case n == len(elems):
		return p.cachedFrame(sub), n
	}
	var payload []byte
	payload = append(payload, '[')
	for i, e := range elems {
		if pass[i] {
			if len(payload) > 1 {
				payload = append(payload, ',')
			}
			payload = append(payload, e...)
		}
	}
	payload = append(payload, ']')
	return encodeDelivery(sub.id, p.stream.nameJSON, payload), n
}

func (p *publication) cachedFrame(sub *subscription) []byte {
	for i, id := range p.ids {
		if id == sub.id {
			return p.frames[i]
		}
	}
	f := encodeDelivery(sub.id, p.stream.nameJSON, p.raw)
	p.ids = append(p.ids, sub.id)
	p.frames = append(p.frames, f)
	return f
}

// passes evaluates the subscription's filter on element i; an evaluation error is a "no".
func (p *publication) passes(sub *subscription, i int) bool {
	if p.decoded == nil {
		elems := p.elements()
		p.decoded = make([]any, len(elems))
		p.decErr = make([]error, len(elems))
		for k, e := range elems {
			p.decErr[k] = json.Unmarshal(e, &p.decoded[k])
		}
	}
	if p.decErr[i] != nil {
		return false
	}
	ok, err := sub.filter.Match(p.decoded[i], p.stream.name)
	return err == nil && ok
}

// encodeDelivery builds {"id":N,"action":"subscription","streamName":S,"payload":P}.
func encodeDelivery(id uint64, nameJSON, payload []byte) []byte {
	const head = `{"id":`
	const mid = `,"action":"subscription","streamName":`
	const tail = `,"payload":`
	b := make([]byte, 0, len(head)+20+len(mid)+len(nameJSON)+len(tail)+len(payload)+1)
	b = append(b, head...)
	b = strconv.AppendUint(b, id, 10)
	b = append(b, mid...)
	b = append(b, nameJSON...)
	b = append(b, tail...)
	b = append(b, payload...)
	return append(b, '}')
}
