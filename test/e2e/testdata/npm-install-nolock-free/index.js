console.log(require('is-number')(1), require('esbuild').version)
