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
}

// requestBody is an encoded request body. It is reference counted because the HTTP transport
// may still read or close a request body after Client.Do has returned: the buffer goes back to
// the pool only when the client and every reader handed to the transport have released it.
type requestBody struct {
	pool    *bodyPool
	buf     bytes.Buffer
	refs    atomic.Int32
	scratch []byte // string-to-bytes copies for the gzip writer, which takes []byte only
}

// bodyWriter builds one request body: the caller appends JSON pieces with Write and
// WriteString, then calls finish. When gzip is on, the pieces are compressed as they arrive.
type bodyWriter struct {
	body *requestBody
	gz   *gzip.Writer
}

func (p *bodyPool) start() bodyWriter {
	b, _ := p.bufs.Get().(*requestBody)
	if b == nil {
		b = &requestBody{pool: p}
	}
	b.refs.Store(1)
	w := bodyWriter{body: b}
	if p.gzipOn {
		w.gz, _ = p.gzips.Get().(*gzip.Writer)
		if w.gz == nil {
			w.gz, _ = gzip.NewWriterLevel(&b.buf, gzip.BestSpeed)
		} else {
			w.gz.Reset(&b.buf)
		}
	}
	return w
}

// Write appends p; writes into a bytes.Buffer or a gzip writer over one cannot fail.
func (w *bodyWriter) Write(p []byte) {
	if w.gz != nil {
		_, _ = w.gz.Write(p)
		return
	}
	w.body.buf.Write(p)
}

func (w *bodyWriter) WriteString(s string) {
	if w.gz != nil {
		w.body.scratch = append(w.body.scratch[:0], s...)
		_, _ = w.gz.Write(w.body.scratch)
		return
	}
	w.body.buf.WriteString(s)
}

// finish flushes the compressor and returns the body, holding one reference for the caller.
func (w *bodyWriter) finish() *requestBody {
	if w.gz != nil {
		_ = w.gz.Close()
		w.gz.Reset(io.Discard)
		w.body.pool.gzips.Put(w.gz)
		w.gz = nil
	}
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
