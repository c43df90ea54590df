// OrderedJSON: JSON values that keep object key order, a bounded parser and a serializer. No I/O.
