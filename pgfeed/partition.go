package pgfeed

// murmur2 is Kafka's default-partitioner hash (Java's Utils.murmur2, librdkafka's
// "murmur2_random" partitioner for non-empty keys), seed 0x9747b28c.
func murmur2(data []byte) int32 {
	const (
		seed = uint32(0x9747b28c)
		m    = uint32(0x5bd1e995)
		r    = 24
	)
	length := len(data)
	h := seed ^ uint32(length)
	n := length / 4
	for i := range n {
		i4 := i * 4
		k := uint32(data[i4]) | uint32(data[i4+1])<<8 | uint32(data[i4+2])<<16 | uint32(data[i4+3])<<24
		k *= m
		k ^= k >> r
		k *= m
		h *= m
		h ^= k
	}
	tail := data[n*4:]
	switch len(tail) {
	case 3:
		h ^= uint32(tail[2]) << 16
		fallthrough
	case 2:
		h ^= uint32(tail[1]) << 8
		fallthrough
	case 1:
		h ^= uint32(tail[0])
		h *= m
	}
	h ^= h >> 13
	h *= m
	h ^= h >> 15
	return int32(h)
}

// partitionFor returns the partition for a message key among n partitions, as Kafka's Java
// default partitioner does: toPositive(murmur2(key)) % n. Stable for a given key and n.
func partitionFor(key []byte, n int32) int32 {
	if n <= 1 {
		return 0
	}
	return (murmur2(key) & 0x7fffffff) % n
}
