package config

import "sort"

// Slot is what an instance holds on the machine: its network id and its host port.
type Slot struct {
	ID   int `json:"id"`
	Port int `json:"port"`
}

// assign gives every instance an id and a port.
//
// The rules, in order: a value written in the file is used as written, unless another
// declared instance holds it (then it is a clash, reported by name); an instance that omits
// the value keeps the one it holds; the others get the lowest value nobody uses or holds,
// including instances still on disk but gone from the file (they are being archived, and a
// value is never reused while its instance exists).
func assign(p *problems, ins []Instance, entries []InstanceEntry, held map[string]Slot, ports PortRange, reserved []int) {
	declared := map[string]bool{}
	for _, in := range ins {
		declared[in.Name] = true
	}
	fields := []struct {
		key      string
		min, max int
		get      func(Slot) int
		ptr      func(*Instance) *int
	}{
		{"id", MinInstanceID, MaxInstanceID, func(s Slot) int { return s.ID }, func(in *Instance) *int { return &in.ID }},
		{"port", ports.First, ports.Last, func(s Slot) int { return s.Port }, func(in *Instance) *int { return &in.Port }},
	}
	for _, f := range fields {
		a := assigner{p: p, key: f.key, min: f.min, max: f.max, owner: map[int]string{}, declared: declared}
		if f.key == "port" {
			a.reserve(ins, entries, reserved)
		}
		a.reserveGone(held, declared, f.get)
		a.keepHeld(ins, held, f.get, f.ptr)
		a.checkExplicit(ins, entries, f.ptr)
		a.fill(ins, entries, f.ptr)
	}
}

type assigner struct {
	p        *problems
	key      string
	min, max int
	owner    map[int]string // value -> instance that uses or holds it
	declared map[string]bool
}

// reserveGone keeps the values of instances gone from the file out of reach of new ones.
func (a *assigner) reserveGone(held map[string]Slot, declared map[string]bool, get func(Slot) int) {
	names := make([]string, 0, len(held))
	for n := range held {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if v := get(held[n]); !declared[n] && v >= a.min && v <= a.max {
			if _, taken := a.owner[v]; !taken {
				a.owner[v] = n
			}
		}
	}
}

// reserveOwner owns the reserved ports; it is no valid instance name, so no instance keeps them.
const reserveOwner = "(reserved)"

// reserve refuses reserved ports written in the file and keeps them from being assigned.
func (a *assigner) reserve(ins []Instance, entries []InstanceEntry, reserved []int) {
	for _, port := range reserved {
		a.owner[port] = reserveOwner
	}
	for i := range ins {
		if e := entries[i].port(); e != 0 && a.owner[e] == reserveOwner {
			a.p.add(entries[i].key+".port", "port %d is reserved for another service of this machine (instances.reserved_ports in wpinit.toml): choose another", e)
		}
	}
}

// keepHeld gives an instance that omits the value the one recorded for it.
func (a *assigner) keepHeld(ins []Instance, held map[string]Slot, get func(Slot) int, ptr func(*Instance) *int) {
	for i := range ins {
		v := ptr(&ins[i])
		s, ok := held[ins[i].Name]
		if *v != 0 || !ok {
			continue
		}
		hv := get(s)
		if hv < a.min || hv > a.max {
			continue
		}
		if other, taken := a.owner[hv]; taken && other != ins[i].Name {
			continue // a damaged record; a fresh value is assigned below
		}
		*v = hv
		a.owner[hv] = ins[i].Name
	}
}

// checkExplicit reports a written value that another declared instance keeps. A value held by
// an instance gone from the file may be written: its owner is removed before anything is
// created in the same pass.
func (a *assigner) checkExplicit(ins []Instance, entries []InstanceEntry, ptr func(*Instance) *int) {
	for i := range ins {
		if a.explicit(entries[i]) == 0 {
			continue
		}
		v := *ptr(&ins[i])
		if other, taken := a.owner[v]; taken && other != ins[i].Name && a.declared[other] {
			a.p.add(entries[i].key+"."+a.key, "%s %d is held by instance %q", a.key, v, other)
			continue
		}
		a.owner[v] = ins[i].Name
	}
}

func (a *assigner) explicit(e InstanceEntry) int {
	if a.key == "id" {
		return e.id()
	}
	return e.port()
}

// fill gives the remaining instances the lowest free value, in file order.
func (a *assigner) fill(ins []Instance, entries []InstanceEntry, ptr func(*Instance) *int) {
	next := a.min
	for i := range ins {
		v := ptr(&ins[i])
		if *v != 0 {
			continue
		}
		for next <= a.max {
			if _, taken := a.owner[next]; !taken {
				break
			}
			next++
		}
		if next > a.max {
			a.p.add(entries[i].key, "no free %s left in %d-%d", a.key, a.min, a.max)
			continue
		}
		*v = next
		a.owner[next] = ins[i].Name
	}
}
