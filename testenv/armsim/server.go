package armsim

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"time"
)

// Server is a Sim served over HTTPS with an in-memory self-signed CA.
type Server struct {
	*Sim
	url    string
	caPEM  []byte
	pool   *x509.CertPool
	srv    *http.Server
	ln     net.Listener
	served chan struct{}
	client *http.Client
}

// Start serves a new Sim over TLS on opts.Addr (default 127.0.0.1:0). The
// server certificate is valid for 127.0.0.1, ::1 and localhost.
func Start(opts Options) (*Server, error) {
	addr := opts.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	caPEM, cert, pool, err := newCertificates()
	if err != nil {
		return nil, fmt.Errorf("start armsim: %w", err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("start armsim: listen on %s: %w", addr, err)
	}
	sim := New(opts)
	errLog := log.New(io.Discard, "", 0)
	if opts.Logf != nil {
		errLog = log.New(logfWriter(opts.Logf), "armsim: ", 0)
	}
	s := &Server{
		Sim:   sim,
		caPEM: caPEM,
		pool:  pool,
		ln:    ln,
		srv: &http.Server{
			Handler:           sim,
			TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
			ReadHeaderTimeout: 10 * time.Second,
			ErrorLog:          errLog,
		},
		served: make(chan struct{}),
		client: &http.Client{
			Transport: &http.Transport{
				TLSClientConfig:     &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
				MaxIdleConnsPerHost: 16,
			},
			Timeout: 60 * time.Second,
		},
	}
	s.url = "https://" + hostPort(ln.Addr())
	go func() {
		defer close(s.served)
		if err := s.srv.ServeTLS(ln, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) && opts.Logf != nil {
			opts.Logf("armsim: serve: %v", err)
		}
	}()
	return s, nil
}

func hostPort(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok {
		return a.String()
	}
	host := tcp.IP.String()
	if tcp.IP.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, fmt.Sprint(tcp.Port))
}

type logfWriter func(format string, args ...any)

func (w logfWriter) Write(p []byte) (int, error) {
	w("%s", string(p))
	return len(p), nil
}

// URL is https://127.0.0.1:PORT, the ARM endpoint to configure clients with.
func (s *Server) URL() string { return s.url }

// CAPEM returns the PEM of the CA that signed the server certificate.
func (s *Server) CAPEM() []byte { return append([]byte(nil), s.caPEM...) }

// Client returns an HTTP client that trusts the server's CA. It implements
// azcore's policy.Transporter, so it can be the Transport of arm.ClientOptions.
// Every call returns the same client.
func (s *Server) Client() *http.Client { return s.client }

// Close stops the server and waits for it to stop serving.
func (s *Server) Close() {
	_ = s.srv.Close()
	<-s.served
	s.client.CloseIdleConnections()
}

// newCertificates makes an ECDSA P-256 CA and a server certificate it signs.
func newCertificates() (caPEM []byte, cert tls.Certificate, pool *x509.CertPool, err error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, tls.Certificate{}, nil, fmt.Errorf("generate CA key: %w", err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          randomSerial(),
		Subject:               pkix.Name{CommonName: "armsim test CA", Organization: []string{"hanva armsim"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(7 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, tls.Certificate{}, nil, fmt.Errorf("create CA certificate: %w", err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, tls.Certificate{}, nil, fmt.Errorf("parse CA certificate: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, tls.Certificate{}, nil, fmt.Errorf("generate server key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: randomSerial(),
		Subject:      pkix.Name{CommonName: "armsim"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(7 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		return nil, tls.Certificate{}, nil, fmt.Errorf("create server certificate: %w", err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(caCert)
	caPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	return caPEM, tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: nil}, pool, nil
}

func randomSerial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return big.NewInt(time.Now().UnixNano())
	}
	return n
}
