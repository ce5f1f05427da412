package kube

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// pki is the key material of one control plane, written as PEM files into
// its directory (flags of the processes name the files).
type pki struct {
	caCert, caKey           string // cluster CA: signs serving and client certs, CSRs
	servingCert, servingKey string // kube-apiserver's serving cert
	adminCert, adminKey     string // client cert, O=system:masters
	saKey, saPub            string // service-account token signing pair

	caPEM, adminCertPEM, adminKeyPEM []byte
}

// Address ranges of the control plane.
const (
	// ServiceCIDR is the range of Service ClusterIPs.
	ServiceCIDR = "10.96.0.0/16"
	// serviceIP, the first address of ServiceCIDR, is the ClusterIP of the
	// `kubernetes` Service, which the serving certificate names.
	serviceIP = "10.96.0.1"
	// PodCIDR is where KWOK takes pod IPs from.
	PodCIDR = "10.244.0.0/16"
)

// newPKI generates every key and certificate into dir. ECDSA P-256 keeps
// generation in the milliseconds; the certificates are valid for a year so
// that a long-lived dev cluster keeps working.
func newPKI(dir string) (*pki, error) {
	p := &pki{
		caCert: filepath.Join(dir, "ca.crt"), caKey: filepath.Join(dir, "ca.key"),
		servingCert: filepath.Join(dir, "apiserver.crt"), servingKey: filepath.Join(dir, "apiserver.key"),
		adminCert: filepath.Join(dir, "admin.crt"), adminKey: filepath.Join(dir, "admin.key"),
		saKey: filepath.Join(dir, "sa.key"), saPub: filepath.Join(dir, "sa.pub"),
	}
	now := time.Now().Add(-time.Hour) // tolerate clock skew between processes
	notAfter := now.Add(366 * 24 * time.Hour)

	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "pipe-testenv-ca"},
		NotBefore:             now,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caKey.Public(), caKey)
	if err != nil {
		return nil, fmt.Errorf("ca cert: %w", err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, err
	}
	p.caPEM = pemBlock("CERTIFICATE", caDER)
	if err := writePEM(p.caCert, p.caPEM); err != nil {
		return nil, err
	}
	if err := writeKey(p.caKey, caKey); err != nil {
		return nil, err
	}

	leaf := func(certPath, keyPath string, tmpl *x509.Certificate) ([]byte, []byte, error) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, nil, err
		}
		tmpl.SerialNumber = serial()
		tmpl.NotBefore, tmpl.NotAfter = now, notAfter
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caKey)
		if err != nil {
			return nil, nil, fmt.Errorf("cert %s: %w", tmpl.Subject.CommonName, err)
		}
		certPEM := pemBlock("CERTIFICATE", der)
		keyPEM, err := keyPEM(key)
		if err != nil {
			return nil, nil, err
		}
		if err := writePEM(certPath, certPEM); err != nil {
			return nil, nil, err
		}
		return certPEM, keyPEM, writePEM(keyPath, keyPEM)
	}

	if _, _, err := leaf(p.servingCert, p.servingKey, &x509.Certificate{
		Subject:     pkix.Name{CommonName: "kube-apiserver"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames: []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
			"kubernetes.default.svc.cluster.local"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1"), net.ParseIP(serviceIP)},
	}); err != nil {
		return nil, err
	}
	p.adminCertPEM, p.adminKeyPEM, err = leaf(p.adminCert, p.adminKey, &x509.Certificate{
		Subject:     pkix.Name{CommonName: "pipe-testenv-admin", Organization: []string{"system:masters"}},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	if err != nil {
		return nil, err
	}

	saKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	if err := writeKey(p.saKey, saKey); err != nil {
		return nil, err
	}
	pubDER, err := x509.MarshalPKIXPublicKey(saKey.Public())
	if err != nil {
		return nil, err
	}
	if err := writePEM(p.saPub, pemBlock("PUBLIC KEY", pubDER)); err != nil {
		return nil, err
	}
	return p, nil
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 126))
	if err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return n
}

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func keyPEM(key crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return pemBlock("PRIVATE KEY", der), nil
}

func writeKey(path string, key crypto.Signer) error {
	b, err := keyPEM(key)
	if err != nil {
		return err
	}
	return writePEM(path, b)
}

func writePEM(path string, b []byte) error { return os.WriteFile(path, b, 0o600) }

// kubeconfig renders a kubeconfig for server that authenticates with the
// admin client certificate, the credentials inlined.
func (p *pki) kubeconfig(server string) []byte {
	b64 := base64.StdEncoding.EncodeToString
	return fmt.Appendf(nil, `apiVersion: v1
kind: Config
clusters:
- name: pipe-testenv
  cluster:
    server: %s
    certificate-authority-data: %s
users:
- name: pipe-testenv-admin
  user:
    client-certificate-data: %s
    client-key-data: %s
contexts:
- name: pipe-testenv
  context:
    cluster: pipe-testenv
    user: pipe-testenv-admin
    namespace: default
current-context: pipe-testenv
`, server, b64(p.caPEM), b64(p.adminCertPEM), b64(p.adminKeyPEM))
}
