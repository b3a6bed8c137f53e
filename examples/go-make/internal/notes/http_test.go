package notes

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestNotesRoundTrip(t *testing.T) {
	srv := httptest.NewServer(Router(NewStore(), "test"))
	defer srv.Close()

	resp, err := http.Post(srv.URL+"/notes/", "application/json", strings.NewReader(`{"title":"a","body":"b"}`))
	if err != nil {
		t.Fatal(err)
	}
	var n Note
	if err := json.NewDecoder(resp.Body).Decode(&n); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || n.ID == "" || n.Title != "a" {
		t.Fatalf("POST /notes/: %d %+v", resp.StatusCode, n)
	}

	resp, err = http.Get(srv.URL + "/notes/" + n.ID)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET note: %d", resp.StatusCode)
	}

	req, _ := http.NewRequest(http.MethodDelete, srv.URL+"/notes/"+n.ID, nil)
	if resp, err = http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp, err = http.Get(srv.URL + "/notes/" + n.ID); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("GET deleted note: %d, want 404", resp.StatusCode)
	}
}
