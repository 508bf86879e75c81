package config

import (
	"fmt"
	"reflect"
	"strings"
)

// enumOf returns the values the key of struct T accepts, from the field's enum tag: the one
// place that lists them, read by Validate and by the JSON schema. An empty value in the tag
// (a leading comma) means the key may be left empty. It panics when the key has no enum tag,
// a programming error that every test of the key finds.
func enumOf[T any](key string) []string {
	values, ok := enumTag(reflect.TypeFor[T](), key)
	if !ok {
		panic(fmt.Sprintf("config: %s.%s has no enum tag", reflect.TypeFor[T]().Name(), key))
	}
	return values
}

// enumTag reads the enum tag of the field of t whose koanf key is key.
func enumTag(t reflect.Type, key string) ([]string, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Tag.Get("koanf") != key {
			continue
		}
		tag, ok := f.Tag.Lookup("enum")
		if !ok {
			return nil, false
		}
		return strings.Split(tag, ","), true
	}
	return nil, false
}
