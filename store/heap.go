package store

// minHeap is a binary min-heap whose items may record their own position
// (moved), so that any of them can be moved or removed in O(log n). Every
// order the memory store keeps by time - drains by deadline, groups of
// sessions by when they can next end, schedules by instant, departures
// from a sender by when they left - is one.
type minHeap[T any] struct {
	items []T
	less  func(a, b T) bool
	// moved, if set, is told an item's new position; -1 once removed.
	moved func(x T, i int)
}

func (h *minHeap[T]) len() int { return len(h.items) }

func (h *minHeap[T]) swap(i, j int) {
	h.items[i], h.items[j] = h.items[j], h.items[i]
	if h.moved != nil {
		h.moved(h.items[i], i)
		h.moved(h.items[j], j)
	}
}

func (h *minHeap[T]) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !h.less(h.items[i], h.items[p]) {
			return
		}
		h.swap(i, p)
		i = p
	}
}

func (h *minHeap[T]) down(i int) {
	for {
		l, s := 2*i+1, i
		if l < len(h.items) && h.less(h.items[l], h.items[s]) {
			s = l
		}
		if r := l + 1; r < len(h.items) && h.less(h.items[r], h.items[s]) {
			s = r
		}
		if s == i {
			return
		}
		h.swap(i, s)
		i = s
	}
}

func (h *minHeap[T]) push(x T) {
	h.items = append(h.items, x)
	h.swap(len(h.items)-1, len(h.items)-1) // tells moved
	h.up(len(h.items) - 1)
}

// fix restores the order after the item at i changed its key.
func (h *minHeap[T]) fix(i int) {
	h.down(i)
	h.up(i)
}

// remove takes out the item at i.
func (h *minHeap[T]) remove(i int) {
	last, x := len(h.items)-1, h.items[i]
	h.swap(i, last)
	h.items[last] = *new(T)
	h.items = h.items[:last]
	if h.moved != nil {
		h.moved(x, -1)
	}
	if i < last {
		h.fix(i)
	}
}

// ascend calls yield with the items for which ok holds, smallest first,
// until yield returns false. ok must hold for every item smaller than one
// it holds for (a deadline not after now, say): ascend then visits only
// the items it yields and their children, whatever the heap holds.
func (h *minHeap[T]) ascend(ok func(T) bool, yield func(T) bool) {
	frontier := minHeap[int]{less: func(a, b int) bool { return h.less(h.items[a], h.items[b]) }}
	if len(h.items) > 0 {
		frontier.push(0)
	}
	for frontier.len() > 0 {
		i := frontier.items[0]
		frontier.remove(0)
		if !ok(h.items[i]) || !yield(h.items[i]) {
			return
		}
		for _, c := range [2]int{2*i + 1, 2*i + 2} {
			if c < len(h.items) {
				frontier.push(c)
			}
		}
	}
}
