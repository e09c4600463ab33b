import './zod-setup'
import { mount } from 'svelte'
import App from './App.svelte'
import './app.css'
// Applies the remembered theme before the app first paints.
import './state/theme.svelte'

const target = document.getElementById('app')
if (!target) throw new Error('index.html has no #app element')
export default mount(App, { target })
