import { mount } from 'svelte'
import { config as zodConfig } from 'zod'
import App from './App.svelte'
import './app.css'
// Applies the remembered theme before the app first paints.
import './state/theme.svelte'

// The relay's CSP forbids eval: zod must not even probe `Function('')` (a CSP violation in the console).
zodConfig({ jitless: true })

const target = document.getElementById('app')
if (!target) throw new Error('index.html has no #app element')
export default mount(App, { target })
