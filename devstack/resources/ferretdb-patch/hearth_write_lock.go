package handler

import "sync"

// Hearth patch. FerretDB 1.24 applies update and findAndModify as: read the matching
// documents, modify them in Go, write them back, with nothing held in between. Concurrent
// updates of one document therefore lose writes, and two guarded claims can both win
// (measured: 171 of 200 concurrent $inc lost). One mutex per collection makes each update
// command atomic, as it is on MongoDB. Reads are not locked.
var hearthWriteLocks sync.Map

func hearthLockCollection(db, collection string) func() {
	value, _ := hearthWriteLocks.LoadOrStore(db+"\x00"+collection, new(sync.Mutex))
	mutex := value.(*sync.Mutex)
	mutex.Lock()

	return mutex.Unlock
}
