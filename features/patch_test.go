package features

import (
	"errors"
	"testing"
)

// A patch is stored like a PUT: it survives a restart, and it leaves the
// stored record it was merged into untouched for readers that hold it.
func TestPatchesAreDurableAndDoNotCreate(t *testing.T) {
	dir := t.TempDir()
	s := openTestStore(t, dir, nil)
	if err := s.PutProduct("p1", Product{Category: "mugs", Price: 3, Available: true, Attributes: map[string]any{"colour": "red", "size": "L"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutCustomer("c1", Customer{Attributes: map[string]any{"country": "FR"}}); err != nil {
		t.Fatal(err)
	}
	before, _, _ := s.GetProduct("p1")
	cat := "cups"
	if _, err := s.PatchProduct("p1", ProductPatch{Category: &cat, Attributes: map[string]any{"size": nil, "glaze": "matte"}}); err != nil {
		t.Fatal(err)
	}
	if before.Attributes["size"] != "L" || len(before.Attributes) != 2 {
		t.Fatalf("the patch changed a record readers held: %v", before.Attributes)
	}
	if _, err := s.PatchCustomer("c1", map[string]any{"tier": "gold"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PatchProduct("nobody", ProductPatch{Category: &cat}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("patching an unknown product: %v", err)
	}
	if _, err := s.PatchCustomer("nobody", map[string]any{"a": 1}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("patching an unknown customer: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTestStore(t, dir, nil)
	p, _, err := s.GetProduct("p1")
	if err != nil || p.Category != "cups" || p.Price != 3 || p.Attributes["glaze"] != "matte" || p.Attributes["colour"] != "red" || len(p.Attributes) != 2 {
		t.Fatalf("product after restart: %+v %v", p, err)
	}
	id, _ := s.cust.lookup("c1")
	if a := s.CustomerAttributes(id); a["tier"] != "gold" || a["country"] != "FR" {
		t.Fatalf("customer after restart: %v", a)
	}
	if _, ok := s.prod.lookup("nobody"); ok {
		t.Fatal("a refused patch created a product")
	}
}
