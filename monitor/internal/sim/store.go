package sim

import "github.com/hanva/hanva/testenv/blobsim"

// blobStore is blobsim as a simulation's Store.
type blobStore struct{ *blobsim.Server }

// newStore is an empty storage account with the monitors' container.
func newStore() Store {
	s := blobsim.New(blobsim.Options{})
	s.CreateContainer("hanva")
	return blobStore{s}
}

func (b blobStore) Overwrite(name string, data []byte) error {
	b.Put("hanva", name, data)
	return nil
}

func (b blobStore) Remove(name string) error {
	b.Delete("hanva", name)
	return nil
}
