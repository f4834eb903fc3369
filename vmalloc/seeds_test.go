package vmalloc

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestWriteFuzzSeeds regenerates the committed seed corpus of FuzzVmalloc
// when VMALLOC_WRITE_SEEDS=1; otherwise it checks that the seeds exist.
func TestWriteFuzzSeeds(t *testing.T) {
	seeds := map[string][]byte{
		// reserve, reserve aligned, free, purge, reserve again
		"alloc_free_purge": {0, 0, 3, 0, 0, 1, 1, 0x20, 0, 2, 0, 0, 0, 4, 0, 0, 0, 0, 3, 0, 0},
		// fill the small window until the failure-driven purge
		"small_window": {0, 0, 7, 0, 1, 0, 7, 0, 1, 0, 7, 0, 1, 0, 7, 0, 1, 2, 1, 0, 1, 0, 7, 0, 1, 0, 7, 0, 1},
		// four nodes, pools: free on one CPU, reuse on the same node
		"pools": {3, 5, 1, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 5, 2, 0, 0, 0, 0, 0, 0},
		// injected failures at every site between requests
		"inject": {1, 7, 0, 0, 0, 0, 0, 0, 0, 7, 1, 0, 0, 0, 0, 0, 0, 7, 2, 0, 0, 0, 1, 0, 0, 3, 0, 1, 1},
		// big areas past lazy_max_pages and interior removal
		"big_lazy": {0, 0, 250, 1, 0, 0, 255, 1, 0, 3, 0, 7, 0, 3, 0, 9, 0, 0, 250, 1, 0, 6, 0, 0, 0},
		// a sparse area: map 3 pages, map them again (busy), unmap one,
		// map with a NULL page, remove the area with pages mapped
		"sparse_map": {0, 0, 7, 3, 0, 10, 0, 0, 2, 10, 0, 0, 2, 11, 0, 0, 1, 10, 0, 4, 0x41, 2, 0, 0, 0},
		// vmalloc small and big, one beyond RAM, vfree, a failed frame
		"vmalloc_vfree": {2, 8, 3, 0, 0, 8, 250, 0, 0, 8, 251, 0, 0, 9, 0, 0, 0, 7, 1, 0, 0, 8, 5, 0, 0, 9, 0, 0, 0, 4, 0, 0, 0},
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzVmalloc")
	if os.Getenv("VMALLOC_WRITE_SEEDS") != "1" {
		for name := range seeds {
			if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
				t.Errorf("seed %s missing; run with VMALLOC_WRITE_SEEDS=1", name)
			}
		}
		return
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, b := range seeds {
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
