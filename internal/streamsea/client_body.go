package streamsea

import (
	"bytes"
	"io"
	"sync"
	"sync/atomic"

	"github.com/klauspost/compress/gzip"
)

// maxPooledBody is the largest buffer capacity kept in the pool; bigger ones are left to the
// garbage collector so that one huge batch does not pin its memory forever.
const maxPooledBody = 8 << 20

// bodyPool hands out request body buffers and gzip writers. It is safe for concurrent use.
type bodyPool struct {
	gzipOn bool
	bufs   sync.Pool // *requestBody
	gzips  sync.Pool // *gzip.Writer
	raws   sync.Pool // *[]byte: uncompressed bodies being built
}

// requestBody is an encoded request body. It is reference counted because the HTTP transport
// may still read or close a request body after Client.Do has returned: the buffer goes back to
// the pool only when the client and every reader handed to the transport have released it.
type requestBody struct {
	pool *bodyPool
	buf  bytes.Buffer
	refs atomic.Int32
}

// bodyWriter builds one request body: the caller appends JSON pieces with Write and
// WriteString, then calls finish. When gzip is on, the pieces are collected uncompressed and
// compressed with one Write at finish: a Write per piece costs the compressor about a tenth
// more (BenchmarkPublishBatchBody).
type bodyWriter struct {
	body *requestBody
	raw  *[]byte // the uncompressed body, when gzip is on
}

func (p *bodyPool) start() bodyWriter {
	b, _ := p.bufs.Get().(*requestBody)
	if b == nil {
		b = &requestBody{pool: p}
	}
	b.refs.Store(1)
	w := bodyWriter{body: b}
	if p.gzipOn {
		w.raw, _ = p.raws.Get().(*[]byte)
		if w.raw == nil {
			w.raw = new([]byte)
		}
	}
	return w
}

// Write appends p.
func (w *bodyWriter) Write(p []byte) {
	if w.raw != nil {
		*w.raw = append(*w.raw, p...)
		return
	}
	w.body.buf.Write(p)
}

func (w *bodyWriter) WriteString(s string) {
	if w.raw != nil {
		*w.raw = append(*w.raw, s...)
		return
	}
	w.body.buf.WriteString(s)
}

// finish compresses the body when gzip is on and returns it, holding one reference for the
// caller. Compressing into a bytes.Buffer cannot fail.
func (w *bodyWriter) finish() *requestBody {
	if w.raw == nil {
		return w.body
	}
	p := w.body.pool
	gz, _ := p.gzips.Get().(*gzip.Writer)
	if gz == nil {
		gz, _ = gzip.NewWriterLevel(&w.body.buf, gzip.BestSpeed)
	} else {
		gz.Reset(&w.body.buf)
	}
	_, _ = gz.Write(*w.raw)
	_ = gz.Close()
	gz.Reset(io.Discard)
	p.gzips.Put(gz)
	if cap(*w.raw) <= maxPooledBody {
		*w.raw = (*w.raw)[:0]
		p.raws.Put(w.raw)
	}
	w.raw = nil
	return w.body
}

// reader returns a new reader over the body that holds its own reference until closed.
func (b *requestBody) reader() io.ReadCloser {
	b.refs.Add(1)
	return &bodyReader{Reader: bytes.NewReader(b.buf.Bytes()), body: b}
}

func (b *requestBody) len() int { return b.buf.Len() }

// release drops one reference; the last one returns the buffer to the pool.
func (b *requestBody) release() {
	if b.refs.Add(-1) != 0 {
		return
	}
	if b.buf.Cap() > maxPooledBody {
		return
	}
	b.buf.Reset()
	b.pool.bufs.Put(b)
}

type bodyReader struct {
	*bytes.Reader
	body *requestBody
	once sync.Once
}

func (r *bodyReader) Close() error {
	r.once.Do(r.body.release)
	return nil
}
