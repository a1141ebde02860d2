package main

import (
	"fmt"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kanton/kundencenter/bench/loadgen"
)

// tripProxy forwards TCP connections to a server and counts round trips:
// a trip is each time a client sends after the server spoke last (or
// first on its connection), so a pipeline or a batch counts once. With
// -trips the bench routes PostgreSQL and Redis through one each and
// reports the trips per request of every scenario: what a change of the
// store code costs the servers, exactly and independently of machine load.
type tripProxy struct {
	ln     net.Listener
	target string
	trips  atomic.Int64
	wg     sync.WaitGroup
}

func newTripProxy(target string) (*tripProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &tripProxy{ln: ln, target: target}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

func (p *tripProxy) Addr() string { return p.ln.Addr().String() }

func (p *tripProxy) Close() { p.ln.Close(); p.wg.Wait() }

func (p *tripProxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		var clientTurn atomic.Bool // true while the client spoke last
		go copyNoting(s, c, func() {
			if !clientTurn.Swap(true) {
				p.trips.Add(1)
			}
		})
		go copyNoting(c, s, func() { clientTurn.Store(false) })
	}
}

// copyNoting copies src to dst, calling note before each chunk is passed
// on, and closes dst when src ends or dst fails.
func copyNoting(dst, src net.Conn, note func()) {
	defer dst.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			note()
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// viaProxy returns rawURL with its host replaced by the proxy's address.
func viaProxy(rawURL string) (string, *tripProxy, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", nil, err
	}
	p, err := newTripProxy(u.Host)
	if err != nil {
		return "", nil, err
	}
	u.Host = p.Addr()
	return u.String(), p, nil
}

// tripCount measures scenarios' round trips through the two proxies.
type tripCount struct {
	pg, redis *tripProxy
	idle      [2]float64 // background trips per second (job workers' polling)
}

func (t *tripCount) counts() [2]int64 { return [2]int64{t.pg.trips.Load(), t.redis.trips.Load()} }

// measureIdle records the background trips per second, subtracted from
// every scenario's count.
func (t *tripCount) measureIdle(d time.Duration) {
	before := t.counts()
	time.Sleep(d)
	after := t.counts()
	for i := range 2 {
		t.idle[i] = float64(after[i]-before[i]) / d.Seconds()
	}
	fmt.Printf("background (idle): %.2f PostgreSQL and %.2f Redis round trips/s, subtracted below\n", t.idle[0], t.idle[1])
}

// run is loadgen.Run that also prints the scenario's round trips per
// successful request.
func (t *tripCount) run(name string, d time.Duration, conc int, fn func(int) error) loadgen.Result {
	if t == nil {
		return loadgen.Run(name, d, conc, fn)
	}
	before, start := t.counts(), time.Now()
	r := loadgen.Run(name, d, conc, fn)
	after, took := t.counts(), time.Since(start).Seconds()
	if r.N > 0 {
		per := func(i int) float64 {
			return (float64(after[i]-before[i]) - t.idle[i]*took) / float64(r.N)
		}
		fmt.Printf("  %-20s round trips per request: PostgreSQL %.2f, Redis %.2f\n", name, per(0), per(1))
	}
	return r
}

func (t *tripCount) Close() {
	if t != nil {
		t.pg.Close()
		t.redis.Close()
	}
}

// newTripCount puts proxies in front of both servers and returns the URLs
// to use instead.
func newTripCount(pgURL, redisURL string) (*tripCount, string, string, error) {
	pg, pp, err := viaProxy(pgURL)
	if err != nil {
		return nil, "", "", err
	}
	rd, rp, err := viaProxy(redisURL)
	if err != nil {
		pp.Close()
		return nil, "", "", err
	}
	return &tripCount{pg: pp, redis: rp}, pg, rd, nil
}
