const isNumber = require("is-number"); const lib = require("lib"); console.log(isNumber.patched, lib.twice(21));
