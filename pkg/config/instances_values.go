package config

import "runtime"

// MinCPUs is the smallest cpus limit: Docker refuses less than a hundredth of a CPU.
const MinCPUs = 0.01

// hostCPUs counts the CPUs Docker allows a container at most: those of this machine, whose
// dockerd (the inner one shares wpinit's container) refuses a create asking for more. A
// variable so that tests do not depend on the machine.
var hostCPUs = runtime.NumCPU

// cpus checks a cpus limit (0: inherit): from MinCPUs to the machine's CPUs, so that NaN,
// infinities and values Docker refuses at every create are refused with their line instead.
func (v *validator) cpus(key string, c float64) {
	if c == 0 {
		return
	}
	n := hostCPUs()
	if !(c >= MinCPUs && c <= float64(n)) { // NaN fails both comparisons
		v.addOnce(key, "cpus %v out of range %v-%d (Docker's minimum to the CPUs of this machine)", c, MinCPUs, n)
	}
}

// controlChar returns the first control character of s other than tab, or -1: a NUL or a
// line break in a value would end up in a generated file (php.ini, my.cnf) or in a command's
// arguments.
func controlChar(s string) rune {
	for _, r := range s {
		if (r < 0x20 && r != '\t') || r == 0x7f {
			return r
		}
	}
	return -1
}
