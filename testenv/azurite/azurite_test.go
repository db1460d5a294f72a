package azurite

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/lease"
)

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func upload(ctx context.Context, t *testing.T, c *container.Client, name, body string) {
	t.Helper()
	if _, err := c.NewBlockBlobClient(name).UploadBuffer(ctx, []byte(body), nil); err != nil {
		t.Fatalf("upload %s: %v", name, err)
	}
}

func download(ctx context.Context, t *testing.T, c *container.Client, name string) string {
	t.Helper()
	resp, err := c.NewBlobClient(name).DownloadStream(ctx, nil)
	if err != nil {
		t.Fatalf("download %s: %v", name, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	return string(b)
}

func TestAzurite(t *testing.T) {
	az := StartT(t)
	ctx := testContext(t)

	t.Run("serves the dev account on 127.0.0.1 path-style", func(t *testing.T) {
		if got, want := az.Account(), "devstoreaccount1"; got != want {
			t.Errorf("Account() = %q, want %q", got, want)
		}
		if !strings.HasPrefix(az.ServiceURL(), "http://127.0.0.1:") || !strings.HasSuffix(az.ServiceURL(), "/devstoreaccount1") {
			t.Errorf("ServiceURL() = %q, want http://127.0.0.1:PORT/devstoreaccount1", az.ServiceURL())
		}
		if got, want := az.BlobURL("hanva", "leader/a b.json"), az.ServiceURL()+"/hanva/leader/a%20b.json"; got != want {
			t.Errorf("BlobURL() = %q, want %q", got, want)
		}
	})

	t.Run("a blob uploaded with the shared key downloads unchanged", func(t *testing.T) {
		c, err := az.ContainerClient("roundtrip")
		if err != nil {
			t.Fatal(err)
		}
		upload(ctx, t, c, "dir/state.json", `{"epoch":1}`)
		if got := download(ctx, t, c, "dir/state.json"); got != `{"epoch":1}` {
			t.Errorf("downloaded %q, want %q", got, `{"epoch":1}`)
		}
		// A client built from BlobURL (as a config lease.url would be) reads the same blob.
		cred, err := blob.NewSharedKeyCredential(az.Account(), az.AccountKey())
		if err != nil {
			t.Fatal(err)
		}
		bc, err := blob.NewClientWithSharedKeyCredential(az.BlobURL("roundtrip", "dir/state.json"), cred, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := bc.DownloadStream(ctx, nil)
		if err != nil {
			t.Fatalf("download through BlobURL: %v", err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || string(b) != `{"epoch":1}` {
			t.Errorf("through BlobURL read %q (%v), want %q", b, err, `{"epoch":1}`)
		}
	})

	t.Run("ContainerClient on an existing container succeeds", func(t *testing.T) {
		for i := 0; i < 2; i++ {
			if _, err := az.ContainerClient("twice"); err != nil {
				t.Fatalf("call %d: %v", i+1, err)
			}
		}
	})

	t.Run("a second lease acquire on a leased blob fails with 409 LeaseAlreadyPresent", func(t *testing.T) {
		c, err := az.ContainerClient("leases")
		if err != nil {
			t.Fatal(err)
		}
		upload(ctx, t, c, "leader", "")
		first, err := lease.NewBlobClient(c.NewBlobClient("leader"), nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := first.AcquireLease(ctx, 15, nil); err != nil {
			t.Fatalf("first acquire: %v", err)
		}
		second, err := lease.NewBlobClient(c.NewBlobClient("leader"), nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = second.AcquireLease(ctx, 15, nil)
		var re *azcore.ResponseError
		if !errors.As(err, &re) || re.StatusCode != http.StatusConflict || !bloberror.HasCode(err, bloberror.LeaseAlreadyPresent) {
			t.Fatalf("second acquire: got %v, want 409 LeaseAlreadyPresent", err)
		}
		if _, err := first.RenewLease(ctx, nil); err != nil {
			t.Errorf("holder renews: %v", err)
		}
		if _, err := first.ReleaseLease(ctx, nil); err != nil {
			t.Errorf("holder releases: %v", err)
		}
		if _, err := second.AcquireLease(ctx, 15, nil); err != nil {
			t.Errorf("acquire after release: %v", err)
		}
	})

	t.Run("the key file holds the key with mode 0600", func(t *testing.T) {
		path, err := az.WriteKeyFile(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != az.AccountKey() {
			t.Errorf("key file holds %q, want the account key", b)
		}
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("key file mode %v, want 0600", fi.Mode().Perm())
		}
	})
}

func TestRestartKeepsBlobsAndPort(t *testing.T) {
	az := StartT(t)
	ctx := testContext(t)
	c, err := az.ContainerClient("persist")
	if err != nil {
		t.Fatal(err)
	}
	upload(ctx, t, c, "state.json", "kept")
	url := az.ServiceURL()

	if err := az.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if err := az.Stop(); err != nil {
		t.Fatalf("second stop: %v", err)
	}
	resp, err := http.Get(url + "?comp=list")
	if err == nil {
		resp.Body.Close()
		t.Fatalf("stopped Azurite still answers on %s", url)
	}

	if err := az.Restart(); err != nil {
		t.Fatalf("restart: %v", err)
	}
	if az.ServiceURL() != url {
		t.Errorf("after restart ServiceURL = %q, want %q", az.ServiceURL(), url)
	}
	if got := download(ctx, t, c, "state.json"); got != "kept" {
		t.Errorf("after restart blob holds %q, want %q", got, "kept")
	}
}

func TestRestartOnATakenPortFailsThenWorksOnceFree(t *testing.T) {
	az := StartT(t)
	ctx := testContext(t)
	c, err := az.ContainerClient("outage")
	if err != nil {
		t.Fatal(err)
	}
	upload(ctx, t, c, "state.json", "kept")
	if err := az.Stop(); err != nil {
		t.Fatal(err)
	}
	squatter, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(az.Port())))
	if err != nil {
		t.Fatalf("take the stopped Azurite's port: %v", err)
	}
	err = az.Restart()
	squatter.Close()
	if !errors.Is(err, errAddrInUse) {
		t.Fatalf("restart on a taken port: got %v, want an error wrapping %q", err, errAddrInUse)
	}
	if err := az.Restart(); err != nil {
		t.Fatalf("restart once the port is free: %v", err)
	}
	if got := download(ctx, t, c, "state.json"); got != "kept" {
		t.Errorf("after restart blob holds %q, want %q", got, "kept")
	}
}

func TestStartWithoutBinarySaysRunMakeAzurite(t *testing.T) {
	t.Setenv(BinEnv, filepath.Join(t.TempDir(), "no-such-azurite-blob"))
	a, err := Start(Options{Dir: t.TempDir()})
	if err == nil {
		a.Stop()
		t.Fatal("Start succeeded without a binary")
	}
	if !strings.Contains(err.Error(), "run `make azurite`") {
		t.Errorf("error %q does not say to run `make azurite`", err)
	}
}

func TestTailKeepsTheLastBytes(t *testing.T) {
	tl := newTail(4)
	for _, s := range []string{"ab", "cdef", "g"} {
		if n, err := tl.Write([]byte(s)); n != len(s) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", s, n, err)
		}
	}
	if got := tl.String(); got != "defg" {
		t.Errorf("tail = %q, want %q", got, "defg")
	}
}
