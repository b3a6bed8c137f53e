console.log(require("is-number")(7))
