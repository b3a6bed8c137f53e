// Package notes keeps notes in memory and serves them over HTTP.
package notes

import (
	"errors"
	"sort"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Note is one stored note.
type Note struct {
	ID      string    `json:"id"`
	Title   string    `json:"title"`
	Body    string    `json:"body"`
	Created time.Time `json:"created"`
}

// ErrNotFound is returned for an unknown note id.
var ErrNotFound = errors.New("note not found")

// Store is a concurrency-safe in-memory note store.
type Store struct {
	mu    sync.RWMutex
	notes map[string]Note
	now   func() time.Time
}

// NewStore returns an empty store.
func NewStore() *Store {
	return &Store{notes: map[string]Note{}, now: time.Now}
}

// Add stores a new note and returns it with its id.
func (s *Store) Add(title, body string) Note {
	n := Note{ID: uuid.NewString(), Title: title, Body: body, Created: s.now().UTC()}
	s.mu.Lock()
	s.notes[n.ID] = n
	s.mu.Unlock()
	return n
}

// Get returns the note with id.
func (s *Store) Get(id string) (Note, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	n, ok := s.notes[id]
	if !ok {
		return Note{}, ErrNotFound
	}
	return n, nil
}

// Delete removes the note with id.
func (s *Store) Delete(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.notes[id]; !ok {
		return ErrNotFound
	}
	delete(s.notes, id)
	return nil
}

// List returns all notes, oldest first.
func (s *Store) List() []Note {
	s.mu.RLock()
	out := make([]Note, 0, len(s.notes))
	for _, n := range s.notes {
		out = append(out, n)
	}
	s.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].Created.Equal(out[j].Created) {
			return out[i].ID < out[j].ID
		}
		return out[i].Created.Before(out[j].Created)
	})
	return out
}
